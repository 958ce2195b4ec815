"""Wiring of ``teacher_signkd``: the three-stream teacher on the frame and feature stores, then its evaluation."""

from kedro.pipeline import Pipeline, node, pipeline

from signdistill.pipelines.baseline.nodes import train_with_features
from signdistill.pipelines.evaluation.pipeline import TRAINING_INPUTS, evaluate_runs

RUN = "signkd_teacher"


def teacher_run(run: str = RUN) -> Pipeline:
    """``<run>.model``: a teacher (or variant) trained on the frame and feature stores."""
    training = Pipeline([node(train_with_features, ["frame_store", "corpus_index", "vocabulary", "feature_store",
                                                    "params:recognizer"], ["model", "history"], name="train")])
    return pipeline(training, namespace=run, inputs=TRAINING_INPUTS | {"feature_store"})


def create_pipeline(**kwargs) -> Pipeline:
    return teacher_run(RUN) + evaluate_runs([RUN], features=True)
