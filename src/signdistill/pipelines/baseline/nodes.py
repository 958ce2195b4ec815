"""Nodes of the ``baseline`` pipeline (thin: the work is in ``signdistill.training``)."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from signdistill.data.features import FeatureStore
from signdistill.data.store import FrameStore
from signdistill.models.registry import load_recognizer
from signdistill.pipelines.tracking import epoch_callback
from signdistill.training.checkpoint import save_atomic
from signdistill.training.distributed import launch
from signdistill.training.evaluate import wer_evaluator
from signdistill.training.recipes import recognizer_recipe
from signdistill.training.trainer import Trainer, TrainResult

log = logging.getLogger(__name__)


def _train_distributed(store: FrameStore, index: pd.DataFrame, vocabulary: dict, params: dict,
                       teacher_package: dict | None, features: FeatureStore | None = None) -> TrainResult:
    """Persist the inputs (the feature store too, for models that read flow and keypoints), run ``torchrun``
    over them, read rank 0's result back."""
    workdir = Path(params["checkpoint_dir"]) / "ddp"
    workdir.mkdir(parents=True, exist_ok=True)
    index.to_csv(workdir / "index.csv", index=False)
    spec = {"store_root": str(store.root), "index_csv": str(workdir / "index.csv"), "vocabulary": vocabulary,
            "params": params, "checkpoint_dir": params["checkpoint_dir"], "workdir": str(workdir)}
    if teacher_package is not None:
        save_atomic(teacher_package, workdir / "teacher.pt")
        spec["teacher_package"] = str(workdir / "teacher.pt")
    if features is not None:
        spec["feature_root"], spec["flow_size"] = str(features.root), features.flow_size
    ddp = params["ddp"]
    return TrainResult(**launch(spec, int(ddp["nproc_per_node"]), workdir, int(ddp.get("nnodes", 1))))


def train_recognizer(store: FrameStore, index: pd.DataFrame, vocabulary: dict, params: dict,
                     teacher_package: dict | None = None, features: FeatureStore | None = None) -> tuple[dict, dict]:
    """Train ``params["kind"]`` (distilled from the teacher when one is given), keep the best epoch by dev
    WER; returns the model package (the student's, for a distiller) and the training history."""
    teacher = load_recognizer(teacher_package) if teacher_package is not None else None
    recipe = recognizer_recipe(store.root, index.to_dict("records"), vocabulary, params, teacher, features)
    if int(params.get("ddp", {}).get("nproc_per_node", 1)) > 1:
        result = _train_distributed(store, index, vocabulary, params, teacher_package, features)
    else:
        evaluate = wer_evaluator(recipe.dev_set, recipe.vocabulary, rules=params.get("rules", "none"))
        result = Trainer(recipe.model, recipe.train_set, evaluate, recipe.config, Path(params["checkpoint_dir"]),
                         on_epoch=epoch_callback()).fit()  # the run's MLflow curves (signdistill.hooks)
    history = {"epochs": result.history, "best_epoch": result.best_epoch, "best_dev_wer": result.best_dev_wer,
               "skipped_batches": result.skipped_batches}
    return recipe.package(result.best_state, vocabulary, params), history


def distill_recognizer(store: FrameStore, index: pd.DataFrame, vocabulary: dict, teacher_package: dict,
                       params: dict) -> tuple[dict, dict]:
    """``train_recognizer`` with a frozen teacher (the argument order Kedro nodes wire)."""
    return train_recognizer(store, index, vocabulary, params, teacher_package)


def train_with_features(store: FrameStore, index: pd.DataFrame, vocabulary: dict, features: FeatureStore,
                        params: dict) -> tuple[dict, dict]:
    """``train_recognizer`` for a model that reads the aligned feature streams (a SignKD teacher)."""
    return train_recognizer(store, index, vocabulary, params, features=features)


def distill_with_features(store: FrameStore, index: pd.DataFrame, vocabulary: dict, features: FeatureStore,
                          teacher_package: dict, params: dict) -> tuple[dict, dict]:
    """``train_recognizer`` of a student distilled from a teacher that reads the feature streams (SignKD)."""
    return train_recognizer(store, index, vocabulary, params, teacher_package, features)
