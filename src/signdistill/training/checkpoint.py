"""Atomic checkpoints: a file appears under its final name only when completely written.

A checkpoint holds tensors and plain values (numbers, strings, lists, dicts): what ``torch.load`` reads with
``weights_only=True``, whose unpickler builds only those and never calls code named in the file. A file
holding anything else (a pickled object that would run code when opened) is refused, not loaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from signdistill.data.atomic import atomic_write
from signdistill.errors import InputError
from signdistill.models.package_file import load_tensors_only

LAST = "last.pt"  # a run's checkpoint of its last completed epoch, in its checkpoint folder


class CheckpointError(InputError):
    """A checkpoint that cannot be opened safely (or at all)."""


def save_atomic(obj: Any, path: Path) -> None:
    atomic_write(path, lambda tmp: torch.save(obj, tmp))


def load_checkpoint(path: Path) -> Any | None:
    """The tensors and plain values saved in ``path`` (on the CPU), or None when there is no such file."""
    path = Path(path)
    if not path.exists():
        return None
    return load_tensors_only(path, CheckpointError, "; delete it to start afresh")
