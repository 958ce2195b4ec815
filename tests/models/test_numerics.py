"""Subnormal floats are flushed on every thread of torch's pool, not only on the calling one."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import torch
from signdistill.models.numerics import flush_denormals
torch.set_num_threads(2)
x = torch.full((4_000_000,), 1e-39)
x * 2  # the OpenMP pool exists from here on, its threads with their own floating-point state
torch.set_flush_denormal(True)
calling_thread_only = int(((x * 2) != 0).sum())
flush_denormals(True)
flushed = int(((x * 2) != 0).sum())
flush_denormals(False)
kept = int(((x * 2) != 0).sum())
print(calling_thread_only, flushed, kept)
"""


def test_flush_denormals_sets_every_thread_of_the_pool() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True, timeout=120,
                          env={"OMP_NUM_THREADS": "2", "PATH": ""})
    calling_thread_only, flushed, kept = (int(v) for v in done.stdout.split())
    assert calling_thread_only > 0  # torch's own switch leaves the other thread's share subnormal
    assert flushed == 0 and kept == 4_000_000
