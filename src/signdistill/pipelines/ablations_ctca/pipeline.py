"""Wiring of ``ablations_ctca``: every row of Table 5 a run of the same training and evaluation pipelines."""

from kedro.pipeline import Pipeline

from signdistill.pipelines import baseline
from signdistill.pipelines.evaluation.pipeline import ablation_tables, evaluate_runs, train_run

# run -> (row label, the paper's PHOENIX-2014 test WER, GMACs: none reported). "Vanilla" (two separate networks)
# is not an SDPN variant and is not built.
TABLE_5 = {"student_res": ("baseline", 22.1, None), "ctca_sdpn": ("SDPN (no KD)", 21.8, None),
           "ctca_a": ("SDPN A", 21.1, None), "ctca_a_no_i": ("SDPN A - I", 21.5, None),
           "ctca_b": ("SDPN B", 20.7, None), "ctca_c": ("SDPN C", 20.6, None), "ctca_d": ("SDPN D", 20.4, None),
           "ctca_d_no_w": ("SDPN D - w", 20.6, None), "ctca_e": ("SDPN E", 21.0, None), "ctca": ("CTCA", 20.1, None)}


def create_pipeline(**kwargs) -> Pipeline:
    runs = [run for run in TABLE_5 if run != "student_res"]
    return (baseline.create_pipeline().only_nodes_with_namespaces(["student_res"])
            + sum((train_run(run) for run in runs), Pipeline([])) + evaluate_runs(list(TABLE_5))
            + ablation_tables({"ctca_table5": TABLE_5}))
