"""Kedro datasets for the artifacts that are directories rather than single files, and for model packages.

A corpus and a packed frame store hold thousands of files, and a PHOENIX-scale frame store does not
fit in memory, so these datasets do their writing incrementally: the node returns a small, pure
description of what to write (a SynthSign spec, a list of samples to pack), and ``save`` writes it,
skipping whatever is already current on disk.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset

from signdistill.data.corpora import CorpusIndex, read_corpus
from signdistill.data.features import FeatureConfig, FeatureStore, build_feature_store
from signdistill.data.parallel import ExecutorSpec
from signdistill.data.store import FrameStore, build_frame_store
from signdistill.errors import MissingInputError
from signdistill.synth.corpus import generate_corpus, get_preset

log = logging.getLogger(__name__)


class CorpusDataset(AbstractDataset[dict, CorpusIndex]):
    """A sign-language corpus on disk (any layout of ``signdistill.data.corpora``).

    ``load`` reads it into a :class:`CorpusIndex`. ``save`` takes a SynthSign spec
    (``{"preset": ..., "seed": ..., "overrides": {...}}``) and generates the corpus there, unless it is
    already current; with ``generate: false`` (a real corpus such as PHOENIX-2014) ``save`` only checks
    that the corpus exists, so the same pipelines serve both.
    """

    def __init__(self, path: str, layout: str = "auto", generate: bool = True, workers: int = 0,
                 metadata: dict[str, Any] | None = None) -> None:
        self._path = Path(path)
        self._layout = layout
        self._generate = generate
        self._workers = workers
        self.metadata = metadata

    def load(self) -> CorpusIndex:
        return read_corpus(self._path, self._layout)

    def save(self, data: dict) -> None:
        if not self._generate:
            if not self._path.exists():
                raise MissingInputError(f"corpus root {self._path} does not exist: set `corpus.path` in "
                                        "conf/<env>/catalog.yml")
            log.info("Corpus %s is external: nothing to generate", self._path)
            return
        preset = get_preset(data["preset"], **data.get("overrides", {}))
        generate_corpus(self._path, preset, int(data.get("seed", 0)), workers=self._workers)

    def _exists(self) -> bool:
        return self._path.exists()

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path), "layout": self._layout, "generate": self._generate}


def _executor(data: dict) -> ExecutorSpec:
    """Where a store's per-video jobs run: the ``executor`` section, else the process pool of ``workers``."""
    return ExecutorSpec.from_params(data.get("executor"), int(data.get("workers", 0)))


class _CachedStoreDataset:
    """What the two derived stores share: a packed store at ``path`` built through a per-video cache."""

    def __init__(self, path: str, cache_path: str, metadata: dict[str, Any] | None = None) -> None:
        self._path = Path(path)
        self._cache = Path(cache_path)
        self.metadata = metadata

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path), "cache_path": str(self._cache)}


class FrameStoreDataset(_CachedStoreDataset, AbstractDataset[dict, FrameStore]):
    """The packed, memory-mappable frame store (see ``signdistill.data.store``).

    ``save`` takes ``{"samples": [...], "sizes": [...], "workers": n, "executor": {...}}`` (see
    :class:`~signdistill.data.parallel.ExecutorSpec`) and decodes each video once
    through the per-video cache at ``cache_path``; the videos it cannot decode are left out of the store
    and listed in its ``problems.json``, which the preprocess report includes.
    """

    def load(self) -> FrameStore:
        return FrameStore(self._path)

    def save(self, data: dict) -> None:
        summary, problems = build_frame_store(data["samples"], data["sizes"], self._path, self._cache,
                                              executor=_executor(data))
        for problem in problems:
            log.warning("excluded %s (%s): %s", problem.id, problem.split, problem.reason)
        log.info("frame store %s: %s", self._path, summary)

    def _exists(self) -> bool:
        return self._path.exists()


class FeatureStoreDataset(_CachedStoreDataset, AbstractDataset[dict, FeatureStore]):
    """Flow and keypoints of every video (see ``signdistill.data.features``).

    ``save`` takes ``{"samples": [...], "config": {...}, "frame_store": path, "workers": n, "executor": {...}}``
    and computes
    each video's features once through the per-video cache at ``cache_path``; problems (no person found,
    too few frames, a video missing from a supplied keypoints file) are logged and listed in the store's
    ``summary.json`` without stopping the run.
    """

    def load(self) -> FeatureStore:
        return FeatureStore(self._path)

    def save(self, data: dict) -> None:
        config = FeatureConfig(**data["config"])
        summary = build_feature_store(data["samples"], config, Path(data["frame_store"]), self._path, self._cache,
                                      executor=_executor(data))
        log.info("feature store %s: %d videos with flow, %d with keypoints, %d problems", self._path,
                 summary["flow_videos"], summary["keypoint_videos"], len(summary["problems"]))

    def _exists(self) -> bool:
        return (self._path / "summary.json").exists()


class ModelPackageDataset(AbstractDataset[dict, dict]):
    """A trained model package (``models.registry.package_model``) as a safetensors file with its JSON spec
    (``models.package_file``): loading reads tensors and JSON, never unpickles code; saving is atomic."""

    def __init__(self, filepath: str, metadata: dict[str, Any] | None = None) -> None:
        self._path = Path(filepath)
        self.metadata = metadata

    def load(self) -> dict:
        from signdistill.models.package_file import read_package  # torch, imported when a model is read

        return read_package(self._path)

    def save(self, data: dict) -> None:
        from signdistill.models.package_file import write_package

        write_package(data, self._path)

    def _exists(self) -> bool:
        return self._path.is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._path)}
