"""Wiring of ``ablations_ctca``: every row of Table 5 a run of the same training and evaluation pipelines."""

from kedro.pipeline import Pipeline

from signdistill.pipelines import baseline
from signdistill.pipelines.evaluation.pipeline import ablation_tables, evaluate_runs, train_run

# run -> (row label, the paper's PHOENIX-2014 test WER, GMACs: none reported). SDPN E and full CTCA need the
# cross-modality term (a text encoder this project does not ship yet), so our `ctca` run is SDPN D.
TABLE_5 = {"teacher_res": ("baseline", 22.1, None), "ctca_sdpn": ("SDPN (no KD)", 21.8, None),
           "ctca_a": ("SDPN A", 21.1, None), "ctca_a_no_i": ("SDPN A - I", 21.5, None),
           "ctca_b": ("SDPN B", 20.7, None), "ctca_c": ("SDPN C", 20.6, None), "ctca": ("SDPN D", 20.4, None),
           "ctca_d_no_w": ("SDPN D - w", 20.6, None)}


def create_pipeline(**kwargs) -> Pipeline:
    runs = [run for run in TABLE_5 if run != "teacher_res"]
    return (baseline.create_pipeline().only_nodes_with_namespaces(["teacher_res"])
            + sum((train_run(run) for run in runs), Pipeline([])) + evaluate_runs(list(TABLE_5))
            + ablation_tables({"ctca_table5": TABLE_5}))
