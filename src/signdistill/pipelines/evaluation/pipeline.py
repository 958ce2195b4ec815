"""Wiring of the ``evaluation`` pipeline: the baseline runs decoded, scored, plotted and profiled."""

from kedro.pipeline import Pipeline

from signdistill.pipelines.runs import evaluate_runs

BASELINE_RUNS = ("teacher_res", "student_res")


def create_pipeline(**kwargs) -> Pipeline:
    return evaluate_runs(BASELINE_RUNS)
