"""Recipes: everything a training run needs, built from persisted inputs (paths and parameters).

The same recipe serves a single process and every rank of a ``torchrun`` job, so a distributed run
trains exactly what a single process would, only over more devices.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from signdistill.data.clips import Augmentation, ClipRecord, SignClipDataset
from signdistill.data.store import FrameStore
from signdistill.data.vocabulary import Vocabulary
from signdistill.models.baseline import BaselineConfig, BaselineRecognizer
from signdistill.training.trainer import TrainConfig


@dataclass
class Recipe:
    model: nn.Module
    train_set: SignClipDataset
    dev_set: SignClipDataset
    vocabulary: Vocabulary
    config: TrainConfig
    model_config: BaselineConfig


def read_index(path: Path) -> list[dict]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def records(index: list[dict], split: str) -> list[ClipRecord]:
    return [ClipRecord(r["id"], tuple(r["annotation"].split()), r["signer"]) for r in index if r["split"] == split]


def clip_dataset(store: FrameStore, index: list[dict], vocab: Vocabulary, split: str, params: dict,
                 train: bool) -> SignClipDataset:
    packed = store.split(int(params["store_size"]), split)
    aug = Augmentation(crop=int(params["crop"]), train=train, flip=bool(params.get("flip", True)),
                       temporal_scale=float(params.get("temporal_scale", 0.2)),
                       temporal_context=int(params.get("temporal_context", 12)))
    kept = [r for r in records(index, split) if r.id in packed]
    return SignClipDataset(packed, kept, vocab, aug, seed=int(params["train"]["seed"]))


def baseline_recipe(store_root: Path, index: list[dict], vocabulary: dict, params: dict) -> Recipe:
    """The VAC/SMKD baseline of ``conf/*/parameters_baseline.yml``."""
    vocab = Vocabulary.from_dict(vocabulary)
    store = FrameStore(Path(store_root))
    torch.manual_seed(int(params["train"]["seed"]))
    model_config = BaselineConfig(num_classes=len(vocab), **params["model"])
    return Recipe(BaselineRecognizer(model_config), clip_dataset(store, index, vocab, "train", params, True),
                  clip_dataset(store, index, vocab, "dev", params, False), vocab,
                  TrainConfig(**params["train"]), model_config)
