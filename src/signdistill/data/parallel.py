"""Per-video work on all cores, in order, with a progress bar."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from tqdm.auto import tqdm


def parallel_map(fn: Callable[[Any], Any], jobs: Sequence[Any], workers: int = 0, desc: str = "",
                 progress: bool = True) -> Iterator[Any]:
    """``map(fn, jobs)`` over ``workers`` processes (0 = all cores), yielding results in job order."""
    workers = workers or os.cpu_count() or 1
    with tqdm(total=len(jobs), desc=desc, unit="video", disable=not progress) as bar:
        if workers <= 1 or len(jobs) <= 1:
            for job in jobs:
                yield fn(job)
                bar.update()
            return
        with ProcessPoolExecutor(workers) as pool:
            for result in pool.map(fn, jobs, chunksize=max(1, min(8, len(jobs) // (4 * workers)))):
                yield result
                bar.update()
