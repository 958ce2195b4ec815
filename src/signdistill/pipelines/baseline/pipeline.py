"""Wiring of the ``baseline`` pipeline: the VAC/SMKD baseline at the teacher's and the student's resolution."""

from kedro.pipeline import Pipeline

from signdistill.pipelines.runs import train_run

RUNS = ("teacher_res", "student_res")


def create_pipeline(**kwargs) -> Pipeline:
    return sum((train_run(run) for run in RUNS), Pipeline([]))
