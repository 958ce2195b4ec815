"""Atomic file writes: readers (and a rerun after a crash) see the old file or the new one, never half.

Every writer in the project goes through :func:`atomic_write`: write under a temporary name in the same
directory, then ``os.replace`` (atomic on POSIX within one file system).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path


def atomic_write(path: Path, write: Callable[[Path], object], tmp_suffix: str = ".tmp") -> None:
    """Call ``write(tmp)`` and rename ``tmp`` to ``path``; parents are created.

    ``tmp_suffix`` must keep the extension a writer insists on (``np.save`` appends ``.npy`` to any other
    name): pass ``".tmp.npy"`` / ``".tmp.npz"`` for numpy writers.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + tmp_suffix)
    write(tmp)
    os.replace(tmp, path)


def atomic_json(path: Path, payload: object) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(json.dumps(payload)))
