"""Nodes of the ``preprocess`` pipeline."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass

import pandas as pd

from signdistill.data.corpora import SPLITS, CorpusIndex, problems_to_records
from signdistill.data.parallel import ExecutorSpec
from signdistill.data.records import too_short_reason
from signdistill.data.store import FrameStore
from signdistill.data.vocabulary import Vocabulary
from signdistill.errors import InputError, check_section

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PreprocessParams:
    """The ``preprocess`` parameters section (conf/base/parameters_preprocess.yml explains each)."""

    resolutions: dict[str, int]
    temporal_downsample: int
    temporal_context: int = 0
    workers: int = 0
    executor: dict | None = None

    @classmethod
    def from_params(cls, params: dict) -> PreprocessParams:
        return cls(**check_section("preprocess", cls, params))


def index_corpus(corpus: CorpusIndex, preprocess: dict) -> tuple[pd.DataFrame, dict, list[dict]]:
    """The usable samples, the training vocabulary, and the samples excluded here (with reasons).

    A video too short for CTC to align its label after the model's temporal downsampling is excluded;
    glosses unknown to the training vocabulary are kept in dev/test (they count as errors, as in the
    official scoring) and listed in the report.
    """
    settings = PreprocessParams.from_params(preprocess)
    rows, excluded = [], []
    for sample in corpus.samples:
        reason = too_short_reason(sample, sample.num_frames or 0, settings.temporal_downsample,
                                  settings.temporal_context)
        if reason:
            log.warning("excluded %s (%s): %s", sample.id, sample.split, reason)
            excluded.append({"id": sample.id, "split": sample.split, "path": str(sample.source), "reason": reason})
            continue
        rows.append({"id": sample.id, "split": sample.split, "signer": sample.signer,
                     "annotation": " ".join(sample.glosses), "num_frames": sample.num_frames,
                     "source": str(sample.source)})
    index = pd.DataFrame(rows, columns=["id", "split", "signer", "annotation", "num_frames", "source"])
    if not (index.split == "train").any():
        raise InputError(f"no usable training video in the corpus at {corpus.root} ({corpus.layout}): "
                         + rejection_summary(corpus.problems, excluded))
    train = index[index.split == "train"].annotation.str.split()
    vocabulary = Vocabulary.from_sequences(train.tolist())
    return index, vocabulary.to_dict(), excluded


def rejection_summary(problems: list, excluded: list[dict]) -> str:
    """The most common reasons samples were rejected, each with its count and one file it concerns."""
    reasons = [(p.reason, p.path) for p in problems] + [(e["reason"], e["path"]) for e in excluded]
    if not reasons:
        return "its split files list no sample"
    counts = Counter(reason for reason, _ in reasons)
    example = dict(reversed(reasons))
    return "; ".join(f"{n} x {reason} (e.g. {example[reason]})" for reason, n in counts.most_common(3))


def plan_frame_store(index: pd.DataFrame, corpus: CorpusIndex, preprocess: dict) -> dict:
    """Which samples to decode and at which sizes (the ``frame_store`` dataset does the writing)."""
    settings = PreprocessParams.from_params(preprocess)
    keep = set(index.id)
    samples = [s for s in corpus.samples if s.id in keep]
    sizes = sorted(set(settings.resolutions.values()))
    executor = ExecutorSpec.from_params(settings.executor, settings.workers)
    return {"samples": samples, "sizes": sizes, "executor": executor.to_params()}


def preprocess_report(corpus: CorpusIndex, index: pd.DataFrame, vocabulary: dict, excluded: list[dict],
                      frame_store: FrameStore) -> dict:
    """Everything a user should know before training: counts, vocabulary, OOV glosses, all problems."""
    vocab = Vocabulary.from_dict(vocabulary)
    decode_problems = frame_store.problems()
    failed = {p["id"] for p in decode_problems}
    oov = {split: dict(Counter(g for ann in index[index.split == split].annotation for g in ann.split()
                               if g not in vocab).most_common())
           for split in ("dev", "test")}
    oov_samples = unknown_gloss_samples(index[index.split != "train"], vocab)
    if oov_samples:
        first = oov_samples[0]
        log.warning("%d dev/test samples hold glosses the training vocabulary lacks (scored as errors), e.g. %s "
                    "(%s): %s", len(oov_samples), first["id"], first["path"], " ".join(first["glosses"]))
    problems = problems_to_records(corpus.problems) + excluded + decode_problems
    usable = index[~index.id.isin(failed)]
    return {
        "corpus": str(corpus.root), "layout": corpus.layout,
        "samples": {s: int((usable.split == s).sum()) for s in SPLITS},
        "frames": {s: int(usable[usable.split == s].num_frames.sum()) for s in SPLITS},
        "vocabulary_size": len(vocab.glosses), "num_classes": len(vocab),
        "unknown_glosses": oov, "unknown_gloss_samples": oov_samples, "problem_count": len(problems),
        "problems": problems,
    }


def unknown_gloss_samples(index: pd.DataFrame, vocab: Vocabulary) -> list[dict]:
    """Each sample of ``index`` whose label holds glosses outside ``vocab``: its id, split, video and those glosses."""
    rows = [{"id": row.id, "split": row.split, "path": row.source,
             "glosses": [g for g in row.annotation.split() if g not in vocab]} for row in index.itertuples()]
    return [row for row in rows if row["glosses"]]
