"""Nodes of the ``baseline`` pipeline (thin: the work is in ``signdistill.training``)."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from signdistill.data.store import FrameStore
from signdistill.training.distributed import launch
from signdistill.training.evaluate import wer_evaluator
from signdistill.training.recipes import baseline_recipe
from signdistill.training.trainer import Trainer, TrainResult

log = logging.getLogger(__name__)


def _log_epoch(epoch: int, metrics: dict) -> None:
    """Per-epoch curves into the MLflow run that kedro-mlflow opened for this pipeline (if any)."""
    import mlflow

    if mlflow.active_run() is not None:
        mlflow.log_metrics({k: float(v) for k, v in metrics.items() if k != "epoch"}, step=epoch)


def _train_distributed(store: FrameStore, index: pd.DataFrame, vocabulary: dict, params: dict) -> TrainResult:
    """Persist the inputs, run ``torchrun`` over them, read rank 0's result back."""
    workdir = Path(params["checkpoint_dir"]) / "ddp"
    workdir.mkdir(parents=True, exist_ok=True)
    index.to_csv(workdir / "index.csv", index=False)
    spec = {"store_root": str(store.root), "index_csv": str(workdir / "index.csv"), "vocabulary": vocabulary,
            "params": params, "checkpoint_dir": params["checkpoint_dir"], "workdir": str(workdir)}
    ddp = params["ddp"]
    return TrainResult(**launch(spec, int(ddp["nproc_per_node"]), workdir, int(ddp.get("nnodes", 1))))


def train_baseline(store: FrameStore, index: pd.DataFrame, vocabulary: dict, params: dict) -> tuple[dict, dict]:
    """Train, keep the best epoch by dev WER; returns the model package and the training history."""
    recipe = baseline_recipe(store.root, index.to_dict("records"), vocabulary, params)
    if int(params.get("ddp", {}).get("nproc_per_node", 1)) > 1:
        result = _train_distributed(store, index, vocabulary, params)
    else:
        evaluate = wer_evaluator(recipe.dev_set, recipe.vocabulary, rules=params.get("rules", "none"))
        result = Trainer(recipe.model, recipe.train_set, evaluate, recipe.config, Path(params["checkpoint_dir"]),
                         on_epoch=_log_epoch).fit()
    package = {"kind": "baseline", "config": recipe.model_config.__dict__, "state_dict": result.best_state,
               "vocabulary": vocabulary, "data": {k: params[k] for k in ("store_size", "crop")}}
    history = {"epochs": result.history, "best_epoch": result.best_epoch, "best_dev_wer": result.best_dev_wer,
               "skipped_batches": result.skipped_batches}
    return package, history
