"""Wiring of the ``baseline`` pipeline: one namespaced instance per input resolution."""

from kedro.pipeline import Pipeline, node, pipeline

from signdistill.pipelines.baseline.nodes import train_recognizer


def _training() -> Pipeline:
    return Pipeline([
        node(train_recognizer, ["frame_store", "corpus_index", "vocabulary", "params:baseline"],
             ["model", "history"], name="train_baseline"),
    ])


def create_pipeline(**kwargs) -> Pipeline:
    shared = {"frame_store", "corpus_index", "vocabulary"}
    return sum((pipeline(_training(), namespace=resolution, inputs=shared)
                for resolution in ("teacher_res", "student_res")), Pipeline([]))
