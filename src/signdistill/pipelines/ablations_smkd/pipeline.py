"""Wiring of ``ablations_smkd``: SMKD's Tables 1, 3 and 4 as runs of the configured rows, and their reports."""

from kedro.pipeline import Pipeline

from signdistill.pipelines.runs import ablation_tables, evaluate_runs, train_run
from signdistill.reporting.papers import report_rows

TABLES = ["smkd_table1", "smkd_table3", "smkd_table4"]


def create_pipeline(**kwargs) -> Pipeline:
    runs = sorted({run for table in TABLES for run in report_rows(table)} - {"smkd"})  # smkd: the smkd pipeline
    return sum((train_run(run) for run in runs), Pipeline([])) + evaluate_runs(runs) + ablation_tables(TABLES)
