"""Wiring of ``teacher_signkd``: the three-stream SignKD teacher trained on the frame and feature stores."""

from kedro.pipeline import Pipeline

from signdistill.pipelines.runs import evaluate_runs, train_run


def create_pipeline(**kwargs) -> Pipeline:
    return train_run("signkd_teacher", features=True) + evaluate_runs(["signkd_teacher"], features=True)
