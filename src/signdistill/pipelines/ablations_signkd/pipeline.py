"""Wiring of ``ablations_signkd``: SignKD's Table 3 (the teacher's encoders and fusions) and Table 4(b) (the
student's losses), the runs ``distill_signkd`` does not train, and their reports."""

from kedro.pipeline import Pipeline

from signdistill.pipelines.runs import ablation_tables, evaluate_runs, train_run
from signdistill.reporting.papers import report_rows

MAIN_RUNS = ("signkd_teacher", "signkd_scratch", "signkd_distilled")  # distill_signkd's


def create_pipeline(**kwargs) -> Pipeline:
    teachers = [run for run in report_rows("signkd_table3") if run not in MAIN_RUNS]
    students = [run for run in report_rows("signkd_table4b") if run not in MAIN_RUNS]
    return (sum((train_run(run, features=True) for run in teachers), Pipeline([]))
            + sum((train_run(run, teacher="signkd_teacher", features=True) for run in students), Pipeline([]))
            + evaluate_runs(teachers, features=True) + evaluate_runs(students)
            + ablation_tables(["signkd_table3", "signkd_table4b"]))
