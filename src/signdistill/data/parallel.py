"""Per-video work on all cores or on a Dask cluster, results in job order, with a progress bar.

The per-video caches are the unit of work: every job writes its own cache file atomically and returns a small
record, so a job (or a Dask worker) that dies loses only its video and a rerun computes only what is missing.
Which executor ran the jobs does not change a byte of what is packed from those caches afterwards.

- ``processes`` (the default): a :class:`~concurrent.futures.ProcessPoolExecutor` on the local host.
- ``dask``: Dask distributed, a ``LocalCluster`` of ``workers`` processes when no ``address`` is given, else
  the scheduler at ``address`` (started by ``dask scheduler`` / ``dask worker``, or dask-jobqueue on SLURM).
  ``resources`` (e.g. ``{"GPU": 1}``) restricts GPU-bound jobs to workers started with those resources.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, fields
from typing import Any

from tqdm.auto import tqdm

from signdistill.errors import reject_unknown

EXECUTOR_KINDS = ("processes", "dask")


@dataclass(frozen=True)
class ExecutorSpec:
    """Where per-video jobs run (a ``preprocess.executor`` / ``features.executor`` parameters section).

    - ``kind``: ``processes`` (a process pool here) or ``dask``.
    - ``address``: a Dask scheduler (``tcp://host:8786``); ``None`` starts a ``LocalCluster``.
    - ``workers``: processes of the pool or of the ``LocalCluster`` (0 = all cores).
    - ``threads_per_worker`` / ``processes``: the ``LocalCluster``'s; ``processes: false`` runs its workers as
      threads of this process (no start-up cost; one MediaPipe graph per thread).
    - ``flow_resources``: Dask worker resources each flow job needs, e.g. ``{GPU: 1}`` with workers started as
      ``dask worker ... --resources GPU=1``; empty: flow runs on any worker.
    """

    kind: str = "processes"
    address: str | None = None
    workers: int = 0
    threads_per_worker: int = 1
    processes: bool = True
    flow_resources: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in EXECUTOR_KINDS:
            raise ValueError(f"executor kind {self.kind!r}: expected one of {', '.join(EXECUTOR_KINDS)}")

    @classmethod
    def from_params(cls, params: dict | None, workers: int = 0) -> ExecutorSpec:
        """An ``executor`` section (``None``: the process pool of ``workers`` processes)."""
        params = dict(params or {})
        reject_unknown(params, {f.name for f in fields(cls)}, "executor: unknown keys {unknown}; expected {known}")
        params.setdefault("workers", workers)
        return cls(**params)

    def to_params(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


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


def executor_map(fn: Callable[[Any], Any], jobs: Sequence[Any], executor: ExecutorSpec | None = None,
                 desc: str = "", progress: bool = True, start_method: str | None = None,
                 resources: dict | None = None) -> Iterator[Any]:
    """``map(fn, jobs)`` on ``executor`` (default: the process pool), yielding results in job order.

    ``start_method`` applies to the process pool; ``resources`` to Dask (ignored by the pool).
    """
    executor = executor or ExecutorSpec()
    if executor.kind == "processes":
        yield from parallel_map(fn, jobs, executor.workers, desc, progress, start_method)
        return
    with dask_client(executor) as client, tqdm(total=len(jobs), desc=desc, unit="video",
                                                disable=not progress) as bar:
        futures = client.map(fn, list(jobs), pure=False, resources=resources or None)
        try:
            for future in futures:
                yield future.result()
                bar.update()
        finally:
            client.cancel(futures)


# Dask's nanny starts its workers with MALLOC_TRIM_THRESHOLD_=65536, which also turns glibc's dynamic mmap
# threshold off: every large temporary of the torch TV-L1 becomes a fresh mmap with its page faults, and a worker
# computes flow markedly slower than a process of the pool. Local workers start without it (docs/scaling.md says
# how to do the same for workers started by hand).
TRIM_KEY = "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_"


@contextlib.contextmanager
def dask_client(executor: ExecutorSpec) -> Iterator[Any]:
    """A ``distributed.Client`` on ``executor.address``, or on a ``LocalCluster`` closed on exit."""
    import dask
    from distributed import Client, LocalCluster  # imported here: the core runs without Dask installed

    if executor.address:
        with Client(executor.address) as client:
            yield client
        return
    workers = executor.workers or os.cpu_count() or 1
    with dask.config.set({TRIM_KEY: None}), LocalCluster(
            n_workers=workers, threads_per_worker=executor.threads_per_worker, processes=executor.processes,
            dashboard_address=":0", resources=executor.flow_resources or None) as cluster, Client(cluster) as client:
        yield client
