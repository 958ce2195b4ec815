"""Importing the package bounds oneDNN's primitive cache, so clips of many lengths do not grow a process's memory."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

# One convolution on a clip length, then on enough other lengths to push it out of a bounded cache (each length
# makes a convolution and its reorders), then on the first length again: was that last primitive still cached?
SCRIPT = """
import signdistill
import torch
conv = torch.nn.Conv3d(16, 16, 3)
with torch.no_grad():
    for t in [60, *range(61, 121), 60]:
        conv(torch.zeros(1, 16, t, 32, 32))
"""


def _last_convolution_was_cached(capacity: str | None) -> bool:
    env = {k: v for k, v in os.environ.items() if k != "ONEDNN_PRIMITIVE_CACHE_CAPACITY"}
    env.update({"ONEDNN_VERBOSE": "2", "OMP_NUM_THREADS": "1"})
    if capacity is not None:
        env["ONEDNN_PRIMITIVE_CACHE_CAPACITY"] = capacity
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, check=True).stdout
    created = [line for line in out.splitlines() if ",create:" in line and ",convolution," in line]
    if not created:
        pytest.skip("torch's convolutions do not go through oneDNN here")
    return ",create:cache_hit," in created[-1]


def test_the_package_bounds_onednns_primitive_cache_and_a_users_setting_wins() -> None:
    assert not _last_convolution_was_cached(None)
    assert _last_convolution_was_cached("1024")
