"""Decode a dataset and score it: the dev-WER evaluator of the trainer, and test-time inference."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.utils.data import DataLoader

from signdistill.data.clips import SignClipDataset, collate_clips
from signdistill.data.features import FeatureStore
from signdistill.data.store import FrameStore
from signdistill.data.vocabulary import Vocabulary
from signdistill.decoding.ctc import decode_log_probs
from signdistill.metrics.wer import score_corpus
from signdistill.models.numerics import flush_denormals
from signdistill.training.recipes import clip_dataset
from signdistill.training.trainer import move_batch


@torch.no_grad()
def decode_dataset(model: nn.Module, dataset: SignClipDataset, vocabulary: Vocabulary, method: str = "greedy",
                   beam_width: int = 10, batch_size: int = 2) -> dict[str, str]:
    """``{video id: hypothesis}`` for every sample (model in eval mode, on its own device)."""
    device = next(model.parameters()).device
    flush_denormals(True)  # subnormal activations take the CPU's slow path; they round to zero anyway
    model.eval()
    hyps: dict[str, str] = {}
    for raw in DataLoader(dataset, batch_size=batch_size, shuffle=False, collate_fn=collate_clips):
        batch = move_batch({k: v for k, v in raw.items() if k not in ("labels", "label_lengths")}, device)
        out = model(batch)
        for vid, ids in zip(batch["ids"], decode_log_probs(out["log_probs"].cpu(), out["out_lengths"].cpu(),
                                                             method, beam_width), strict=True):
            hyps[vid] = " ".join(vocabulary.decode(ids))
    return hyps


def wer_evaluator(dataset: SignClipDataset, vocabulary: Vocabulary, rules: str = "none", method: str = "greedy",
                  beam_width: int = 10) -> Callable[[nn.Module], dict]:
    """The trainer's ``evaluate``: dev WER (and its parts), in percent of reference glosses."""
    refs = {r.id: " ".join(r.glosses) for r in dataset.records}
    signers = {r.id: r.signer for r in dataset.records}

    def evaluate(model: nn.Module) -> dict:
        scores = score_corpus(refs, decode_dataset(model, dataset, vocabulary, method, beam_width),
                              rules=rules, signers=signers)
        return {k: scores[k] for k in ("wer", "sub", "del", "ins") if k in scores}

    return evaluate


SPLITS_SCORED = ("dev", "test")


def decode_splits(model: nn.Module, store: FrameStore, index: list[dict], vocabulary: Vocabulary, data: dict,
                  method: str = "beam", beam_width: int = 10, splits: tuple[str, ...] = SPLITS_SCORED,
                  features: FeatureStore | None = None) -> dict[str, dict[str, str]]:
    """Hypotheses ``{split: {id: glosses}}`` at test-time preprocessing (centre crop, no augmentation).

    ``data`` is the model's data view (``recipes.data_view``: store size, crop, resize, feature streams).
    """
    data_params = {**data, "train": {"seed": 0}}
    return {split: decode_dataset(model, clip_dataset(store, index, vocabulary, split, data_params, train=False,
                                                      features=features), vocabulary, method, beam_width)
            for split in splits}


def score_splits(hypotheses: dict[str, dict[str, str]], index: list[dict], rules: str = "none") -> dict[str, dict]:
    """``score_corpus`` of every decoded split against the index's annotations, with per-signer WER."""
    scores = {}
    for split, hyps in hypotheses.items():
        rows = [r for r in index if r["split"] == split]
        refs = {r["id"]: r["annotation"] for r in rows}
        scores[split] = score_corpus(refs, hyps, rules=rules, signers={r["id"]: r["signer"] for r in rows})
    return scores
