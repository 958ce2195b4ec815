"""Per-video work on Dask distributed: the packed stores are byte-identical to the process pool's, and the
per-video caches stay the unit of work (a rerun computes only what is missing)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import dask
import pytest
from distributed import LocalCluster

from signdistill.data.corpora import read_corpus
from signdistill.data.features import FeatureConfig, build_feature_store
from signdistill.data.parallel import TRIM_KEY, ExecutorSpec, dask_client
from signdistill.data.store import build_frame_store
from signdistill.synth.corpus import generate_corpus, get_preset

SIZES = [24, 32]
FEATURES = FeatureConfig(flow_size=24, keypoint_stride=16)
POOL = ExecutorSpec(kind="processes", workers=2)


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _build(root: Path, samples: list, executor: ExecutorSpec, features_executor: ExecutorSpec) -> None:
    build_frame_store(samples, SIZES, root / "store", root / "frame_cache", progress=False, executor=executor)
    build_feature_store(samples, FEATURES, root / "store", root / "features", root / "feature_cache",
                        progress=False, executor=features_executor)


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """A scheduler with two workers, as ``dask scheduler`` + ``dask worker --resources GPU=1`` would give, but
    as threads of this process: real workers without the seconds each worker process takes to import torch."""
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, protocol="tcp", dashboard_address=":0",
                      resources={"GPU": 1}) as cluster:
        yield cluster.scheduler_address


@pytest.fixture(scope="module")
def built(tmp_path_factory, scheduler: str) -> tuple[Path, list]:
    root = tmp_path_factory.mktemp("executors")
    # the quick corpus (tiny preset), cut to one video per split at half PHOENIX's frame size: seconds, not minutes
    preset = get_preset("tiny", videos={"train": 1, "dev": 1, "test": 1}, mean_length=3.0, width=105, height=130)
    generate_corpus(root / "corpus", preset, seed=0, workers=1, progress=False)
    samples = read_corpus(root / "corpus").samples
    # the pool of today for the frames (forked workers); MediaPipe's spawned workers would only add start-up
    _build(root / "pool", samples, POOL, ExecutorSpec(workers=1))
    # flow jobs ask for the GPU resource, so flow and keypoints go out as separate jobs
    dask = ExecutorSpec(kind="dask", address=scheduler, flow_resources={"GPU": 1})
    _build(root / "dask", samples, dask, dask)
    return root, samples


def test_dask_and_the_process_pool_pack_the_same_bytes(built) -> None:
    root, samples = built
    for store in ("store", "features"):
        pool, dask = _files(root / "pool" / store), _files(root / "dask" / store)
        assert pool and sorted(pool) == sorted(dask)
        for name in pool:
            assert pool[name] == dask[name], f"{store}/{name} differs between the process pool and Dask"
    assert len(_files(root / "dask" / "feature_cache")) == 2 * len(samples)  # a flow and a keypoints file each


def test_a_rerun_on_dask_computes_only_the_missing_video(built) -> None:
    root, samples = built
    caches = sorted((root / "dask" / "frame_cache").rglob("*.npy"))
    lost = caches[0]
    lost.unlink()  # as if the worker decoding it had died
    before = {p: p.stat().st_mtime_ns for p in caches[1:]}
    packed = _files(root / "dask" / "store")
    local = ExecutorSpec(kind="dask", workers=1, processes=False)  # a LocalCluster of its own
    build_frame_store(samples, SIZES, root / "dask" / "store", root / "dask" / "frame_cache", progress=False,
                      executor=local)
    assert lost.exists()
    assert {p: p.stat().st_mtime_ns for p in caches[1:]} == before
    assert _files(root / "dask" / "store") == packed


def test_executor_section_is_checked() -> None:
    with pytest.raises(ValueError, match="executor kind 'slurm'"):
        ExecutorSpec.from_params({"kind": "slurm"})
    with pytest.raises(ValueError, match="unknown keys \\['adress'\\]"):
        ExecutorSpec.from_params({"kind": "dask", "adress": "tcp://x:8786"})
    assert ExecutorSpec.from_params(None, workers=3) == ExecutorSpec(workers=3)


def test_local_workers_start_without_dasks_malloc_trim_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dask's nanny gives workers MALLOC_TRIM_THRESHOLD_, which slows the torch TV-L1 (``data.parallel``); the
    LocalCluster the project starts goes without it, in real worker processes."""
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    assert dask.config.get(TRIM_KEY) is not None  # Dask's default, which a worker would otherwise get
    with dask_client(ExecutorSpec(kind="dask", workers=1)) as client:
        seen = client.run(lambda: os.environ.get("MALLOC_TRIM_THRESHOLD_"))
    assert list(seen.values()) == [None]
