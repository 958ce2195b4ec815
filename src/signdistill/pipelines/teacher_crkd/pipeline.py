"""Wiring of ``teacher_crkd``: train the teacher on the frame store, then evaluate it."""

from kedro.pipeline import Pipeline

from signdistill.pipelines.evaluation.pipeline import evaluate_runs, train_run


def create_pipeline(**kwargs) -> Pipeline:
    return train_run("crkd_teacher") + evaluate_runs(["crkd_teacher"])
