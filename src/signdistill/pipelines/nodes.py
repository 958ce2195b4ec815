"""The node functions every pipeline shares: train a run, decode its splits, time runs end to end.

Thin: each adapts what the catalog holds (a pandas index, a frame store) to the core and calls it once. Reports,
tables and figures are the core's (``signdistill.reporting``), wired as nodes directly. Torch and the models
are imported by the node that runs, so that ``kedro run`` reaches its first node without them.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from signdistill.data.features import FeatureConfig, FeatureStore
from signdistill.data.store import FrameStore
from signdistill.data.vocabulary import Vocabulary
from signdistill.pipelines.tracking import epoch_callback


def train_recognizer(store: FrameStore, index: pd.DataFrame, vocabulary: dict, params: dict, checkpoint_root: str,
                     run: str, teacher: dict | None = None, features: FeatureStore | None = None,
                     seed: int | None = None) -> tuple[dict, dict]:
    """Train the run ``run`` of ``params`` (its ``recognizer`` section), distilled from the ``teacher`` package
    when one is given, reading the feature store when the run's streams need it; keeps the best epoch by dev WER.
    ``seed``: the run at that seed instead of its configured one (``RunSpec.with_seed``). Returns the model
    package (the student's, for a distiller) and the training history."""
    from signdistill.training.run import train_run
    from signdistill.training.spec import RunInputs, RunSpec

    spec = RunSpec.from_params(params, run, checkpoint_root)
    if seed is not None:
        spec = spec.with_seed(seed)
    inputs = RunInputs(store.root, index.to_dict("records"), vocabulary, features, teacher)
    outcome = train_run(spec, inputs, on_epoch=epoch_callback())  # the run's MLflow curves (signdistill.hooks)
    return outcome.package, outcome.history


def decode_splits(package: dict, store: FrameStore, index: pd.DataFrame, params: dict,
                  features: FeatureStore | None = None) -> dict[str, dict[str, str]]:
    """Hypotheses ``{split: {id: glosses}}`` for dev and test, with the configured decoder."""
    from signdistill.models.registry import load_recognizer
    from signdistill.training.evaluate import decode_splits as decode_model_splits

    vocab = Vocabulary.from_dict(package["vocabulary"])
    return decode_model_splits(load_recognizer(package), store, index.to_dict("records"), vocab, package["data"],
                               params["decoder"], int(params["beam_width"]), features=features)


def signkd_latency(teacher: dict, student: dict, index: pd.DataFrame, features: dict, evaluation: dict) -> dict:
    """Video in, glosses out on the first test video: the teacher with its flow and keypoint extraction,
    the distilled student with RGB alone; median seconds per stage and the teacher / student ratio."""
    from signdistill.decoding.video import end_to_end_latency, packaged_model

    test = index[index.split == "test"]
    if test.empty:
        raise ValueError("the corpus index has no test video to time")
    models = {"signkd_teacher": packaged_model(teacher), "signkd_distilled": packaged_model(student)}
    return end_to_end_latency(models, Path(test.source.iloc[0]), FeatureConfig.from_params(features),
                              evaluation["decoder"], int(evaluation["beam_width"]),
                              int(evaluation.get("latency_repeats", 3)))


def students_latency(index: pd.DataFrame, features: dict, evaluation: dict, *packages: dict,
                     runs: list[str]) -> dict:
    """Video in, glosses out on the first test video for every run of ``runs`` (``packages`` in that order): the
    median seconds per stage of each and ``ratio``, the first run's total over the last's."""
    from signdistill.decoding.video import end_to_end_latency, packaged_model

    test = index[index.split == "test"]
    if test.empty:
        raise ValueError("the corpus index has no test video to time")
    models = {run: packaged_model(package) for run, package in zip(runs, packages, strict=True)}
    return end_to_end_latency(models, Path(test.source.iloc[0]), FeatureConfig.from_params(features),
                              evaluation["decoder"], int(evaluation["beam_width"]),
                              int(evaluation.get("latency_repeats", 3)))
