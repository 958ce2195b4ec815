"""Wiring of ``ablations_ctca``: CTCA's Table 5 (SDPN variants) between the baseline (``student_res``) and the full
method (``ctca``), whose pipelines the registry adds."""

from kedro.pipeline import Pipeline

from signdistill.pipelines.runs import ablation_tables, evaluate_runs, train_run
from signdistill.reporting.papers import report_rows


def create_pipeline(**kwargs) -> Pipeline:
    runs = [run for run in report_rows("ctca_table5") if run not in ("student_res", "ctca")]  # ctca: the ctca pipeline
    return (sum((train_run(run) for run in runs), Pipeline([])) + evaluate_runs(runs)
            + ablation_tables(["ctca_table5"]))
