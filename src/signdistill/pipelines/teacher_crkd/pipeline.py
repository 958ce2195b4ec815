"""Wiring of ``teacher_crkd``: train the teacher on the frame store, then evaluate it."""

from kedro.pipeline import Pipeline, node, pipeline

from signdistill.pipelines.baseline.nodes import train_recognizer
from signdistill.pipelines.evaluation.pipeline import evaluate_runs

SHARED = {"frame_store", "corpus_index", "vocabulary"}


def train_run(run: str) -> Pipeline:
    """``<run>.model`` and ``<run>.history`` from ``<run>.recognizer`` parameters (no teacher)."""
    return pipeline(Pipeline([node(train_recognizer, ["frame_store", "corpus_index", "vocabulary", "params:recognizer"],
                                   ["model", "history"], name="train")]), namespace=run, inputs=SHARED)


def create_pipeline(**kwargs) -> Pipeline:
    return train_run("crkd_teacher") + evaluate_runs(["crkd_teacher"])
