"""Wiring of ``teacher_crkd``: the MSTNet teacher trained and evaluated."""

from kedro.pipeline import Pipeline

from signdistill.pipelines.runs import evaluate_runs, train_run


def create_pipeline(**kwargs) -> Pipeline:
    return train_run("crkd_teacher") + evaluate_runs(["crkd_teacher"])
