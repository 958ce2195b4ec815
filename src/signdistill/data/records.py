"""What a corpus reader gives (``data.corpora.read_corpus``): the samples of a corpus and the rows it excluded."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

LAYOUTS = ("phoenix2014", "phoenix2014t", "csl_daily", "video_csv")
SPLITS = ("train", "dev", "test")


@dataclass(frozen=True)
class Sample:
    """One annotated video: where its frames are and what was signed.

    ``num_frames`` is filled by :func:`read_corpus` when it checks frames (header count for videos),
    and is ``None`` otherwise.
    """

    id: str
    split: str
    signer: str
    glosses: tuple[str, ...]
    source: Path
    annotation: str
    num_frames: int | None = None


@dataclass(frozen=True)
class Problem:
    """A row or video that was excluded, with a short human-readable reason."""

    id: str
    split: str
    path: str
    reason: str


@dataclass
class CorpusIndex:
    """The usable samples of a corpus plus everything that was excluded and why."""

    root: Path
    layout: str
    samples: list[Sample]
    problems: list[Problem]

    def split(self, name: str) -> list[Sample]:
        """Samples of one split, in file order."""
        if name not in SPLITS:
            raise ValueError(f"unknown split {name!r}; expected one of {', '.join(SPLITS)}")
        return [sample for sample in self.samples if sample.split == name]
