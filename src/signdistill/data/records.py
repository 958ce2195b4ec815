"""What a corpus reader gives (``data.corpora.read_corpus``): the samples of a corpus and the rows it excluded."""

from __future__ import annotations

from collections.abc import Sequence
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


def ctc_output_length(num_frames: int, downsample: int, context: int = 0) -> int:
    """Steps left after the model's temporal stack: ``context`` frames lost to unpadded convolutions, then
    integer division by ``downsample`` (K5-P2-K5-P2 gives exactly ``(T - 12) // 4``)."""
    return max(num_frames - context, 0) // downsample


def ctc_min_output_length(glosses: Sequence[str]) -> int:
    """CTC needs one output step per label plus a blank between each pair of repeated labels."""
    repeats = sum(a == b for a, b in zip(glosses, glosses[1:], strict=False))
    return len(glosses) + repeats


def too_short_reason(sample: Sample, num_frames: int, downsample: int, context: int = 0) -> str | None:
    """Why a video cannot be aligned to its label by CTC, or None if it can."""
    available = ctc_output_length(num_frames, downsample, context)
    needed = ctc_min_output_length(sample.glosses)
    if available >= needed:
        return None
    return (f"video too short for its label: {num_frames} frames give {available} steps after "
            f"{downsample}x temporal downsampling, CTC needs {needed} for {len(sample.glosses)} glosses")
