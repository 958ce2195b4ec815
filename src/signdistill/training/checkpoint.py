"""Atomic checkpoints: a file appears under its final name only when completely written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from signdistill.data.atomic import atomic_write


def save_atomic(obj: Any, path: Path) -> None:
    atomic_write(path, lambda tmp: torch.save(obj, tmp))


def load_checkpoint(path: Path) -> dict | None:
    path = Path(path)
    if not path.exists():
        return None
    return torch.load(path, map_location="cpu", weights_only=False)
