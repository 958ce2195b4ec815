"""A run's training history (the trainer's per-epoch records, as ``<run>_history.json`` holds them): what its
epochs cost. Plain dicts, importable without torch, so that planners read histories before anything trains."""

from __future__ import annotations

EPOCH_PARTS = ("training_s", "eval_s", "checkpoint_s")


def epoch_times(history: dict | None) -> list[float]:
    """Each epoch's own wall seconds (training, dev evaluation, checkpoint); a DDP run's ``torchrun`` start, paid
    once per run, is in none of them."""
    return [sum(float(e.get(k, 0.0)) for k in EPOCH_PARTS) for e in (history or {}).get("epochs", [])]
