"""What the machine attains and what a training step achieves, measured in the same process.

The attainable rate is the better of a large fp32 matrix product and a large 3x3x3 convolution (the shape of
a video encoder's middle block), timed on the device the steps run on; a step's rate is its counted FLOPs
(torch's ``FlopCounterMode``: matrix products and convolutions, forward and backward; element-wise work and
LSTM cells are not counted) over its measured seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch
from torch import nn
from torch.profiler import ProfilerActivity, profile
from torch.utils.flop_counter import FlopCounterMode

from signdistill.metrics.efficiency import sync_device


def _best_seconds(fn: Callable[[], object], device: torch.device, repeats: int) -> float:
    fn()  # the first call allocates and picks kernels: untimed
    best = float("inf")
    for _ in range(repeats):
        sync_device(device)
        start = time.perf_counter()
        fn()
        sync_device(device)
        best = min(best, time.perf_counter() - start)
    return best


def attainable_gflops(device: torch.device, gemm: int = 2048, repeats: int = 3) -> dict[str, float]:
    """GFLOP/s of a ``gemm`` x ``gemm`` fp32 matrix product and of a 3x3x3 ``nn.Conv3d`` (64 -> 64 channels,
    16 x 28 x 28, batch 2), best of ``repeats``."""
    a, b = torch.randn(gemm, gemm, device=device), torch.randn(gemm, gemm, device=device)
    rates = {"gemm": 2 * gemm**3 / _best_seconds(lambda: a @ b, device, repeats) / 1e9}
    conv = nn.Conv3d(64, 64, 3, padding=1, bias=False).to(device)
    x = torch.randn(2, 64, 16, 28, 28, device=device)
    with torch.no_grad():
        flops = count_flops(lambda: conv(x))
        rates["conv3d"] = flops / _best_seconds(lambda: conv(x), device, repeats) / 1e9
    return rates


def count_flops(fn: Callable[[], object]) -> int:
    """FLOPs ``fn`` runs (matrix products and convolutions, forward and backward)."""
    with FlopCounterMode(display=False) as counter:
        fn()
    return int(counter.get_total_flops())


def top_operators(fn: Callable[[], object], device: torch.device, rows: int = 15) -> str:
    """The profiler's table of ``fn``'s operators by self time on ``device`` (CPU time on the CPU)."""
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with profile(activities=activities) as prof:
        fn()
        sync_device(device)
    key = "self_cuda_time_total" if device.type == "cuda" else "self_cpu_time_total"
    return prof.key_averages().table(sort_by=key, row_limit=rows)
