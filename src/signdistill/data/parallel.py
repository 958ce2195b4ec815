"""Per-video work on all cores, in order, with a progress bar."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from tqdm.auto import tqdm


def parallel_map(fn: Callable[[Any], Any], jobs: Sequence[Any], workers: int = 0, desc: str = "",
                 progress: bool = True, start_method: str | None = None) -> Iterator[Any]:
    """``map(fn, jobs)`` over ``workers`` processes (0 = all cores), yielding results in job order.

    ``start_method="spawn"`` starts clean interpreters instead of forking: needed when the parent may
    hold native threads a child would inherit half-alive (a MediaPipe graph aborts or hangs in a fork).
    """
    workers = workers or os.cpu_count() or 1
    with tqdm(total=len(jobs), desc=desc, unit="video", disable=not progress) as bar:
        if workers <= 1 or len(jobs) <= 1:
            for job in jobs:
                yield fn(job)
                bar.update()
            return
        context = multiprocessing.get_context(start_method) if start_method else None
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            for result in pool.map(fn, jobs, chunksize=max(1, min(8, len(jobs) // (4 * workers)))):
                yield result
                bar.update()
