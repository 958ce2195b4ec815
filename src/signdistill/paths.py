"""Where the project keeps its data: Kedro's layer folders under one data root (``data`` by default).

The catalog (``conf/base/catalog.yml``) names the same places for pipeline runs; this module names them for the
code that runs without Kedro (benchmarks, the CLI), so that a path is spelled once here rather than in every
script. ``DataPaths(Path("data/quick"))`` gives the places of another data root, e.g. a quick environment's.
No Kedro import: a GPU machine with torch and the core reads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DATA_ROOT = Path("data")
RAW, INTERMEDIATE, PRIMARY, FEATURE = "01_raw", "02_intermediate", "03_primary", "04_feature"
MODEL_INPUT, MODELS, MODEL_OUTPUT, REPORTING = "05_model_input", "06_models", "07_model_output", "08_reporting"


@dataclass(frozen=True)
class DataPaths:
    """The data layout under ``root``; every property is a path relative to where ``root`` is."""

    root: Path = DATA_ROOT

    @property
    def raw(self) -> Path:
        return Path(self.root) / RAW

    @property
    def intermediate(self) -> Path:
        return Path(self.root) / INTERMEDIATE

    @property
    def primary(self) -> Path:
        return Path(self.root) / PRIMARY

    @property
    def feature(self) -> Path:
        return Path(self.root) / FEATURE

    @property
    def model_input(self) -> Path:
        return Path(self.root) / MODEL_INPUT

    @property
    def models(self) -> Path:
        return Path(self.root) / MODELS

    @property
    def model_output(self) -> Path:
        return Path(self.root) / MODEL_OUTPUT

    @property
    def reporting(self) -> Path:
        return Path(self.root) / REPORTING

    @property
    def corpus(self) -> Path:
        """The embedded SynthSign corpus (the catalog's ``corpus`` in conf/base)."""
        return self.raw / "synthsign"

    @property
    def corpus_index(self) -> Path:
        return self.intermediate / "corpus_index.csv"

    @property
    def vocabulary(self) -> Path:
        return self.primary / "vocabulary.json"

    @property
    def frame_store(self) -> Path:
        return self.primary / "frame_store"

    @property
    def feature_store(self) -> Path:
        return self.feature / "features"

    @property
    def teacher_targets(self) -> Path:
        """Cached teacher targets of distilled runs (``distill.cache_dir``'s default)."""
        return self.model_input / "teacher_targets"

    @property
    def checkpoints(self) -> Path:
        return self.models / "checkpoints"

    def checkpoint_dir(self, run: str) -> Path:
        """Where ``run``'s epoch checkpoints go (a run's ``checkpoint_dir`` unless it sets another)."""
        return self.checkpoints / run

    def model(self, run: str) -> Path:
        """``run``'s trained model package (the catalog's ``{run}.model``)."""
        return self.models / f"{run}.safetensors"

    def report(self, name: str) -> Path:
        """A file or folder ``name`` among the reports."""
        return self.reporting / name


DATA = DataPaths()
