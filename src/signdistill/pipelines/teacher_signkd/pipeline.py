"""Wiring of ``teacher_signkd``: the three-stream teacher on the frame and feature stores, then its evaluation."""

from kedro.pipeline import Pipeline, node, pipeline

from signdistill.pipelines.baseline.nodes import train_with_features
from signdistill.pipelines.evaluation.pipeline import TRAINING_INPUTS, evaluate_runs

RUN = "signkd_teacher"


def create_pipeline(**kwargs) -> Pipeline:
    training = Pipeline([node(train_with_features, ["frame_store", "corpus_index", "vocabulary", "feature_store",
                                                    "params:recognizer"], ["model", "history"], name="train")])
    return (pipeline(training, namespace=RUN, inputs=TRAINING_INPUTS | {"feature_store"})
            + evaluate_runs([RUN], features=True))
