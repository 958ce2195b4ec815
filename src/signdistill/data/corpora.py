"""One reader for every supported corpus layout (PHOENIX-2014, PHOENIX-2014-T, CSL-Daily, video CSV).

Each layout is parsed into the same :class:`Sample` records, so preprocessing, training and evaluation
never branch on the dataset. Real corpora contain broken rows (PHOENIX-2014 train has one), so bad
input does not abort reading: every bad row or video becomes a :class:`Problem` that is reported and
excluded, and only an unusable corpus root raises.

The records are in ``data.records``, the per-layout annotation readers and layout detection in
``data.layouts``; this module checks each row's frames and summarises a corpus.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from signdistill.data.frames import FrameReadError, count_frames, has_frame_files
from signdistill.data.layouts import READERS, Entry, check_root, detect_layout
from signdistill.data.records import LAYOUTS, SPLITS, CorpusIndex, Problem, Sample, too_short_reason
from signdistill.data.vocabulary import Vocabulary

# --------------------------------------------------------------------------- validation


def _resolve(entry: Entry) -> Path:
    """The candidate that holds the frames, else the preferred one (reported as missing).

    When several exist (PHOENIX-2014-T's ``<name>/`` may contain a ``1/`` folder), the first that
    is a file or a folder with images wins.
    """
    existing = [source for source in entry.sources if source.exists()]
    if len(existing) > 1:
        return next((s for s in existing if not s.is_dir() or has_frame_files(s)), existing[0])
    return existing[0] if existing else entry.sources[0]


def _check_frames(entry: Entry, source: Path) -> int | Problem:
    """Frame count of a source, or the problem that makes it unusable (cheap: no full decode)."""
    try:
        count = count_frames(source)
    except FrameReadError as error:
        return Problem(entry.id, entry.split, str(source), error.problem)
    if count == 0:
        reason = "video has no frames"
        if source.is_dir():
            reason = "frame folder contains no .png/.jpg/.jpeg frames"
        return Problem(entry.id, entry.split, str(source), reason)
    return count


def _to_sample(entry: Entry, seen: dict[str, str], check_frames: bool) -> Sample | Problem:
    """Turn a parsed row into a sample, or into the first problem that excludes it."""
    glosses = tuple(entry.annotation.split())
    if not entry.id:
        return Problem(f"line {entry.line}", entry.split, str(entry.table), f"empty id at line {entry.line}")
    if entry.id in seen:
        return Problem(
            entry.id,
            entry.split,
            str(entry.table),
            f"duplicate id (already used in the {seen[entry.id]} split); first occurrence kept",
        )
    seen[entry.id] = entry.split
    if not glosses:
        return Problem(entry.id, entry.split, str(entry.table), "empty annotation")
    if not entry.sources:
        return Problem(entry.id, entry.split, str(entry.table), "row names no frame folder or video file")
    source = _resolve(entry)
    count = _check_frames(entry, source) if check_frames else None
    if isinstance(count, Problem):
        return count
    return Sample(entry.id, entry.split, entry.signer or "unknown", glosses, source, entry.annotation, count)


def read_corpus(root: Path, layout: str = "auto", check_frames: bool = True) -> CorpusIndex:
    """Read a corpus's annotations and (optionally) check that every sample has frames.

    ``check_frames`` counts the files of each frame folder or opens each video's header and first
    frame; it never decodes a whole video. Without it, no frame-side check is made and
    ``Sample.num_frames`` is ``None``. Bad rows and sources become problems, never exceptions.
    """
    root = check_root(root)
    if layout == "auto":
        layout = detect_layout(root)
    if layout not in READERS:
        raise ValueError(f"unknown corpus layout {layout!r}; expected 'auto' or one of {', '.join(LAYOUTS)}")
    entries, problems = READERS[layout](root)
    samples: list[Sample] = []
    seen: dict[str, str] = {}
    for entry in entries:
        result = _to_sample(entry, seen, check_frames)
        if isinstance(result, Problem):
            problems.append(result)
        else:
            samples.append(result)
    return CorpusIndex(root=root, layout=layout, samples=samples, problems=problems)


# --------------------------------------------------------------------------- summary


def problems_to_records(problems: Iterable[Problem]) -> list[dict[str, str]]:
    """Problems as plain dicts (``id``, ``split``, ``path``, ``reason``) for JSON/CSV reports."""
    return [asdict(problem) for problem in problems]


def _stats(values: Sequence[float]) -> dict[str, float | None]:
    """min/mean/max of a list; ``None`` for an empty split rather than misleading zeros."""
    if not values:
        return {"min": None, "mean": None, "max": None}
    return {"min": min(values), "mean": round(statistics.fmean(values), 3), "max": max(values)}


def _unknown_glosses(samples: Iterable[Sample], vocabulary: Vocabulary) -> dict[str, int]:
    """Occurrences of each out-of-vocabulary gloss, most frequent first."""
    counts = Counter(gloss for sample in samples for gloss in sample.glosses if gloss not in vocabulary)
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def _signer_counts(samples: Iterable[Sample]) -> dict[str, int]:
    """Samples per signer, by signer name."""
    return dict(sorted(Counter(sample.signer for sample in samples).items()))


def summarise_corpus(root: Path, layout: str = "auto", downsample: int = 4, context: int = 12) -> dict[str, Any]:
    """JSON-ready overview of a corpus: what a user checks before spending hours on preprocessing.

    Reads with frame checks, so frame counts are header counts for videos and file counts for folders. A video
    with fewer output steps (after the model's ``context`` frames and ``downsample``: the K5-P2-K5-P2 of the
    embedded models by default, as ``preprocess`` excludes them) than CTC needs for its label is a problem.
    """
    index = read_corpus(root, layout, check_frames=True)
    too_short = [{"id": s.id, "split": s.split, "path": str(s.source), "reason": reason} for s in index.samples
                 if (reason := too_short_reason(s, s.num_frames or 0, downsample, context))]
    by_split = {split: index.split(split) for split in SPLITS}
    vocabulary = Vocabulary.from_sequences(sample.glosses for sample in by_split["train"])
    return {
        "layout": index.layout,
        "root": str(index.root),
        "samples": {split: len(samples) for split, samples in by_split.items()},
        "total_samples": len(index.samples),
        "frames_per_video": {
            split: _stats([s.num_frames for s in samples if s.num_frames is not None])
            for split, samples in by_split.items()
        },
        "glosses_per_sentence": {
            split: _stats([len(s.glosses) for s in samples]) for split, samples in by_split.items()
        },
        "vocabulary_size": len(vocabulary.glosses),
        "num_classes": len(vocabulary),
        "unknown_glosses": {split: _unknown_glosses(by_split[split], vocabulary) for split in SPLITS[1:]},
        "signers": {split: _signer_counts(samples) for split, samples in by_split.items()},
        "problem_count": len(index.problems) + len(too_short),
        "problems": problems_to_records(index.problems) + too_short,
    }
