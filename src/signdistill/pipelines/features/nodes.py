"""Nodes of the ``features`` pipeline (thin: the work is in ``signdistill.data.features``)."""

from __future__ import annotations

import dataclasses

import pandas as pd

from signdistill.data.corpora import CorpusIndex
from signdistill.data.features import FeatureConfig, FeatureStore
from signdistill.data.parallel import ExecutorSpec
from signdistill.data.store import FrameStore


def feature_config(params: dict) -> FeatureConfig:
    return FeatureConfig.from_params(params)


def plan_features(index: pd.DataFrame, corpus: CorpusIndex, frame_store: FrameStore, params: dict) -> dict:
    """Which videos to process and how (the ``feature_store`` dataset computes, caches and packs)."""
    failed = {p["id"] for p in frame_store.problems()}
    keep = set(index.id) - failed
    samples = [s for s in corpus.samples if s.id in keep]
    return {"samples": samples, "config": dataclasses.asdict(feature_config(params)),
            "frame_store": str(frame_store.root),
            "executor": ExecutorSpec.from_params(params.get("executor"), int(params.get("workers", 0))).to_params()}


def features_report(feature_store: FeatureStore) -> dict:
    """What was computed, from where, and every video with a problem (no person, too few frames, ...)."""
    return feature_store.summary()
