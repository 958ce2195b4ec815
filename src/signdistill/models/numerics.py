"""Subnormal floats flushed to zero on every CPU thread that runs torch's kernels.

``torch.set_flush_denormal`` sets the flush-to-zero and denormals-are-zero bits of the calling thread only, and
the threads of torch's OpenMP pool keep their own floating-point state: an intra-op parallel kernel then runs
half its work on the slow path. ``flush_denormals`` also sets the pool's threads, by running one OpenMP parallel
region (libgomp's ``GOMP_parallel``, the runtime torch's Linux wheels bring) whose body sets each thread's mode.
Where torch's OpenMP runtime is not libgomp, only the calling thread is set.
"""

from __future__ import annotations

import ctypes
import functools

import torch

_PARALLEL_BODY = ctypes.CFUNCTYPE(None, ctypes.c_void_p)
_state: dict[str, object] = {"mode": None, "threads": 0}


@functools.cache
def _libgomp() -> ctypes.CDLL | None:
    try:
        with open("/proc/self/maps") as maps:
            path = next((line.split()[-1] for line in maps if "libgomp" in line), None)
    except OSError:
        return None
    return ctypes.CDLL(path) if path else None


def flush_denormals(enabled: bool = True) -> None:
    """Flush subnormal floats to zero (or stop) on this thread and on every thread of torch's OpenMP pool."""
    torch.set_flush_denormal(enabled)
    threads = torch.get_num_threads()
    if _state["mode"] == enabled and _state["threads"] == threads:
        return
    gomp = _libgomp()
    if gomp is not None and threads > 1:
        body = _PARALLEL_BODY(lambda _: torch.set_flush_denormal(enabled))
        gomp.GOMP_parallel(body, None, ctypes.c_uint(threads), ctypes.c_uint(0))
    _state.update(mode=enabled, threads=threads)
