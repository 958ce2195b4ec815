"""The feature store: TV-L1 flow and COCO-WholeBody keypoints of every video, cached and packed.

SignKD's teacher reads three streams per frame: RGB (the frame store), keypoint heatmaps (rendered on
the training device from the keypoints stored here) and optical flow (stored here). Each video's
features are computed once into a per-video cache whose key covers the video's content fingerprint and
every parameter that changes the result, so a rerun with nothing changed computes nothing and a changed
parameter recomputes only what it affects. The cache is then packed like the frame store:

- ``flow/<size>/<split>.frames`` + ``.index.json``: uint8 ``[T, size, size, 2]`` per video, the flow of
  the stored ``size`` frames, so that the RGB crop/flip, scaled, serves the flow too.
  ``flow[t]`` is the motion from frame t to t+1; the last frame repeats the last pair's flow, so the
  flow stream has exactly the RGB stream's length (a zero there would read as "the hands stopped").
  Codes are ``128 + round(f * 255 / 40)`` clipped to +-20 px (:func:`signdistill.flow.quantise.quantise_flow`).
- ``keypoints.pkl``: TwoStream-SLR's format, ``{video_id: {"keypoints": float32 [T, 133, 3]}}`` with x, y
  in pixels of the source frame and score 0 where nothing was found; each entry also carries
  ``frame_size`` (height, width) so the keypoints can follow the RGB resize/crop.
- ``problems.json``: per video, what went wrong (no person found, too few frames for flow, keypoints
  missing from a supplied file, unreadable video), without stopping the run.

Users who have TwoStream-SLR's HRNet keypoints point ``keypoints_file`` at them and MediaPipe does not run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
import threading
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from signdistill.data.atomic import atomic_json, atomic_write
from signdistill.data.corpora import SPLITS, Sample
from signdistill.data.frames import FrameReadError, frame_size, frames_fingerprint, read_frames
from signdistill.data.parallel import ExecutorSpec, executor_map
from signdistill.data.store import PackedFrames, npy_shape, pack_split
from signdistill.errors import InputError, MissingInputError, check_section
from signdistill.pose.layout import NUM_KEYPOINTS

if TYPE_CHECKING:  # torch and TV-L1 load when flow is computed, not with the stores that read features
    from signdistill.flow.tvl1 import TVL1Params

log = logging.getLogger(__name__)

FEATURES_ADVICE = "run the features pipeline again (`kedro run --pipelines features`) to rebuild it"
SECTION_KEYS = ("workers", "executor", "heatmap_crop", "heatmap_sigma", "preview_videos", "preview_frames")
FEATURES_VERSION = "1"  # bump when the computation changes in a way the parameters do not capture


@dataclass(frozen=True)
class FeatureConfig:
    """What to compute. Defaults are SignKD's at the embedded scale.

    - ``flow_size``: the frame-store size whose frames the flow is computed on: 64, from which training
      crops 56 where the RGB crops 112 of 128 (SignKD computes flow and heatmaps at half the RGB size).
    - ``flow``: overrides of :class:`TVL1Params` (its docstring gives the reason for every default).
    - ``flow_bound``: +-px range of the uint8 storage (20, the usual I3D/TSN convention).
    - ``flow_batch``: frame pairs per ``tvl1_flow`` call; larger batches amortise the op launches.
    - ``flow_device``: where TV-L1 runs: ``cpu``, ``cuda``, or ``auto`` (a GPU when the worker has one; pair
      with an executor's ``flow_resources`` so that flow jobs go to the workers that own one).
    - ``keypoints_file``: a TwoStream-style pickle to use instead of running MediaPipe.
    - ``keypoint_stride``: MediaPipe on every n-th frame, the frames between interpolated
      (:func:`signdistill.pose.holistic.interpolate_keypoints`); 1 runs it on every frame.
    - ``model_complexity``: MediaPipe Holistic's pose model; only 1 ships offline (0 and 2 download).
    - ``min_person_fraction``: a video whose body is found in fewer frames is reported as a problem.
    """

    flow_size: int = 64
    flow: dict = field(default_factory=dict)
    flow_bound: float = 20.0
    flow_batch: int = 32
    flow_device: str = "cpu"
    keypoints_file: str | None = None
    keypoint_stride: int = 1
    model_complexity: int = 1
    min_person_fraction: float = 0.5

    @classmethod
    def from_params(cls, params: dict) -> FeatureConfig:
        """The fields of a ``features`` parameters section, checked (``SECTION_KEYS``, the section's other keys,
        are read by the executor and the previews)."""
        return cls(**check_section("features", cls, params, SECTION_KEYS))

    def flow_params(self) -> TVL1Params:
        from signdistill.flow.tvl1 import TVL1Params

        return TVL1Params(**self.flow)

    def flow_key(self) -> str:
        spec = {"v": FEATURES_VERSION, "size": self.flow_size, "bound": self.flow_bound,
                "params": asdict(self.flow_params())}
        return _digest(json.dumps(spec, sort_keys=True))

    def keypoint_key(self) -> str:
        spec = f"complexity={self.model_complexity}|stride={self.keypoint_stride}"
        return _digest(f"{FEATURES_VERSION}|mediapipe-holistic|{spec}")


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:16]


@dataclass
class VideoFeatures:
    """One worker's answer for one video: cache paths, person-detection rate and problems found."""

    id: str
    split: str
    flow: str | None = None
    keypoints: str | None = None
    person_fraction: float = float("nan")
    problems: list[str] = field(default_factory=list)


def _cached(cache_dir: Path, kind: str, sample: Sample, key: str, suffix: str) -> Path:
    content = _digest(f"{frames_fingerprint(sample.source)}|{key}")
    return cache_dir / kind / sample.split / f"{sample.id}.{content}{suffix}"


@lru_cache(maxsize=8)
def _packed(directory: str, split: str) -> PackedFrames:
    return PackedFrames(Path(directory), split)


def video_flow(frames: np.ndarray, config: FeatureConfig, device: str = "cpu") -> np.ndarray:
    """uint8 codes ``[T, H, W, 2]`` of the TV-L1 flow between consecutive RGB frames ``[T, H, W, 3]``."""
    import torch

    from signdistill.flow.quantise import quantise_flow
    from signdistill.flow.tvl1 import tvl1_flow

    # np.array copies: store frames are read-only memory maps, which torch will not wrap
    gray = torch.from_numpy(np.array(frames)).to(device=device, dtype=torch.float32)
    gray = gray @ torch.tensor([0.299, 0.587, 0.114], device=device)  # ITU-R 601 luma, as cv2.cvtColor
    params = config.flow_params()
    pieces = []
    for start in range(0, len(gray) - 1, config.flow_batch):
        stop = min(start + config.flow_batch, len(gray) - 1)
        flow = tvl1_flow(gray[start:stop], gray[start + 1:stop + 1], params=params)
        pieces.append(quantise_flow(flow, config.flow_bound).cpu().numpy())
    codes = np.concatenate(pieces)
    return np.concatenate([codes, codes[-1:]])


@lru_cache(maxsize=4)
def _holistic(model_complexity: int, pid: int, thread: int):  # noqa: ANN202 - a HolisticExtractor, imported lazily
    """One MediaPipe graph per process and thread (building one is slow; ``extract`` resets tracking).

    Keyed by process id, so that no process ever uses a graph built by another (a forked child inherits
    the cache but not the graph's threads), and by thread, for executors whose workers are threads.
    """
    from signdistill.pose.holistic import HolisticExtractor

    return HolisticExtractor(model_complexity=model_complexity)


def video_keypoints(frames: np.ndarray, config: FeatureConfig) -> tuple[np.ndarray, float]:
    """MediaPipe Holistic keypoints ``[T, 133, 3]`` of RGB frames and the fraction of frames with a body."""
    extractor = _holistic(config.model_complexity, os.getpid(), threading.get_ident())
    result = extractor.extract(frames, config.keypoint_stride)
    return result.keypoints, float(result.body.mean())


def _person_problem(fraction: float, config: FeatureConfig) -> str | None:
    if fraction == 0:
        return "no person found (MediaPipe found no body in any frame)"
    if fraction < config.min_person_fraction:
        return f"person found in only {fraction:.0%} of the frames (MediaPipe body)"
    return None


@dataclass(frozen=True)
class _Job:
    sample: Sample
    config: FeatureConfig
    cache_dir: Path
    frames_dir: str  # the frame store's <flow_size> directory
    with_keypoints: bool
    with_flow: bool = True


def _extract_one(job: _Job) -> VideoFeatures:
    """Flow and keypoints of one video into the cache; anything that goes wrong becomes a problem."""
    import torch

    torch.set_num_threads(1)  # one video per core: processes scale, threads inside one process do not
    sample, config = job.sample, job.config
    out = VideoFeatures(sample.id, sample.split)
    flow_path = _cached(job.cache_dir, f"flow/{config.flow_size}", sample, config.flow_key(), ".npy")
    kp_path = _cached(job.cache_dir, "keypoints", sample, config.keypoint_key(), ".npz")
    try:
        if job.with_flow and not flow_path.exists():
            packed = _packed(job.frames_dir, sample.split)
            if sample.id not in packed:
                out.problems.append(f"not in the frame store at size {config.flow_size} (see the preprocess report)")
                return out
            frames = packed[sample.id]
            if len(frames) < 2:
                out.problems.append(f"too few frames for optical flow ({len(frames)})")
            else:
                codes = video_flow(np.asarray(frames), config, _flow_device(config.flow_device))
                atomic_write(flow_path, lambda tmp: np.save(tmp, codes), ".tmp.npy")
        if job.with_flow and flow_path.exists():
            out.flow = str(flow_path)
        if job.with_keypoints:
            if not kp_path.exists():
                frames = read_frames(sample.source)
                keypoints, fraction = video_keypoints(frames, config)
                atomic_write(kp_path, lambda tmp: np.savez(tmp, keypoints=keypoints, person_fraction=fraction,
                                                           frame_size=frames.shape[1:3]), ".tmp.npz")
            with np.load(kp_path) as cached:
                out.person_fraction = float(cached["person_fraction"])
            out.keypoints = str(kp_path)
            if problem := _person_problem(out.person_fraction, config):
                out.problems.append(problem)
    except FrameReadError as err:
        out.problems.append(str(err))
    return out


def _flow_device(device: str) -> str:
    if device == "auto":
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def compute_features(samples: Sequence[Sample], config: FeatureConfig, frame_store: Path, cache_dir: Path,
                     workers: int = 0, progress: bool = True, executor: ExecutorSpec | None = None,
                     keypoints: bool = True) -> list[VideoFeatures]:
    """Every sample's flow (and MediaPipe keypoints unless a keypoints file is given or ``keypoints`` is off),
    on all cores or on ``executor``.

    An executor with ``flow_resources`` gets flow and keypoints as separate jobs, so that only flow waits
    for the workers that hold those resources (a GPU).
    """
    executor = executor or ExecutorSpec(workers=workers)
    frames_dir = str(Path(frame_store) / str(config.flow_size))
    with_keypoints = keypoints and config.keypoints_file is None
    desc = "flow+keypoints" if with_keypoints else "flow"

    def run(with_flow: bool, with_kp: bool, what: str, resources: dict | None = None) -> list[VideoFeatures]:
        jobs = [_Job(s, config, Path(cache_dir), frames_dir, with_kp, with_flow) for s in samples]
        # spawn, not fork: a MediaPipe graph built earlier in this process would abort a forked child
        return list(executor_map(_extract_one, jobs, executor, what, progress, "spawn", resources))

    if not (executor.kind == "dask" and executor.flow_resources and with_keypoints):
        return run(True, with_keypoints, desc, executor.flow_resources)
    flows = run(True, False, "flow", executor.flow_resources)
    for flow, pose in zip(flows, run(False, True, "keypoints"), strict=True):
        flow.keypoints, flow.person_fraction = pose.keypoints, pose.person_fraction
        flow.problems += pose.problems
    return flows


def _mediapipe_keypoints(results: list[VideoFeatures]) -> Iterator[tuple[str, dict]]:
    """Each video's cached keypoints in turn (the pickle is written from these one batch at a time)."""
    for r in results:
        if r.keypoints is None:
            continue
        with np.load(r.keypoints) as cached:
            yield r.id, {"keypoints": cached["keypoints"].astype(np.float32),
                         "frame_size": tuple(int(v) for v in cached["frame_size"])}


class _StreamedDict:
    """Pickles as a plain ``dict`` whose items come from an iterator: pickle writes them in batches, so the
    whole table is never in memory (a PHOENIX-scale keypoints table is over a gigabyte)."""

    def __init__(self, items: Iterator[tuple[str, dict]]) -> None:
        self._items = items
        self.count = 0

    def _counted(self) -> Iterator[tuple[str, dict]]:
        for item in self._items:
            self.count += 1
            yield item

    def __reduce__(self) -> tuple:
        return dict, (), None, None, self._counted()


def read_pickle(path: Path, what: str, advice: str) -> Any:
    """A keypoints pickle (the project's own store or a user's TwoStream file, both trusted); missing or damaged,
    an ``InputError`` naming it, ``what`` it is and ``advice``."""
    if not Path(path).is_file():
        raise MissingInputError(f"{path}: {what} is missing; {advice}")
    try:
        with open(path, "rb") as handle:
            return pickle.load(handle)
    except (pickle.UnpicklingError, EOFError, ValueError, AttributeError, ImportError) as error:
        raise InputError(f"{path}: {what} is corrupt ({error}); {advice}") from error


def supplied_keypoints(path: Path, results: list[VideoFeatures], samples: dict[str, Sample],
                       num_frames: dict[str, int]) -> dict:
    """Check a TwoStream-style pickle against the corpus; videos missing or misshapen become problems."""
    supplied = read_pickle(path, "keypoints file (features.keypoints_file)", "point features.keypoints_file at a "
                           "TwoStream-style keypoints pickle")
    if not isinstance(supplied, dict):
        raise InputError(f"{path}: expected a dict {{video_id: {{'keypoints': [T, 133, 3]}}}}, got {type(supplied)}")
    table = {}
    for r in results:
        entry = supplied.get(r.id) or supplied.get(Path(str(samples[r.id].source)).name)
        if entry is None:
            r.problems.append(f"no keypoints for this video in {path}")
            continue
        keypoints = np.asarray(entry["keypoints"] if isinstance(entry, dict) else entry, np.float32)
        expected = num_frames.get(r.id)
        if keypoints.ndim != 3 or keypoints.shape[1:] != (NUM_KEYPOINTS, 3):
            r.problems.append(f"keypoints in {path} have shape {keypoints.shape}, expected [T, 133, 3]")
            continue
        if expected is not None and len(keypoints) != expected:
            r.problems.append(f"keypoints in {path} have {len(keypoints)} frames, the video has {expected}")
            continue
        size = entry.get("frame_size") if isinstance(entry, dict) else None
        table[r.id] = {"keypoints": keypoints, "frame_size": tuple(size) if size else frame_size(samples[r.id].source)}
    return table


def _write_pickle(path: Path, payload: object) -> None:
    def dump(tmp: Path) -> None:
        with open(tmp, "wb") as handle:  # straight to the file: a streamed payload is never whole in memory
            pickle.dump(payload, handle, protocol=pickle.HIGHEST_PROTOCOL)

    atomic_write(path, dump)


def build_feature_store(samples: Sequence[Sample], config: FeatureConfig, frame_store: Path, store_dir: Path,
                        cache_dir: Path, workers: int = 0, progress: bool = True,
                        executor: ExecutorSpec | None = None) -> dict:
    """Compute (cached, on ``executor``: default the process pool of ``workers``) and pack every split's flow
    and keypoints; returns a summary with the problems."""
    store_dir = Path(store_dir)
    results = compute_features(samples, config, frame_store, cache_dir, workers, progress, executor)
    by_id = {s.id: s for s in samples}
    for split in SPLITS:
        members = [(r.id, r.flow) for r in results if r.split == split and r.flow]
        pack_split(members, store_dir / "flow" / str(config.flow_size), split)
    if config.keypoints_file:
        lengths = {r.id: npy_shape(Path(r.flow))[0] for r in results if r.flow}
        keypoints = supplied_keypoints(Path(config.keypoints_file), results, by_id, lengths)
        _write_pickle(store_dir / "keypoints.pkl", keypoints)
        keypoint_videos = len(keypoints)
    else:
        streamed = _StreamedDict(_mediapipe_keypoints(results))
        _write_pickle(store_dir / "keypoints.pkl", streamed)
        keypoint_videos = streamed.count
    problems = [{"id": r.id, "split": r.split, "path": str(by_id[r.id].source), "reason": reason}
                for r in results for reason in r.problems]
    for problem in problems:
        log.warning("%s (%s): %s", problem["id"], problem["split"], problem["reason"])
    fractions = [r.person_fraction for r in results if not np.isnan(r.person_fraction)]
    summary = {
        "videos": len(results), "flow_videos": sum(r.flow is not None for r in results),
        "keypoint_videos": keypoint_videos, "flow_size": config.flow_size,
        "keypoints_source": config.keypoints_file or (f"mediapipe holistic (complexity {config.model_complexity}, "
                                                      f"every {config.keypoint_stride}. frame)"),
        "mean_person_fraction": float(np.mean(fractions)) if fractions else None,
        "problems": problems,
    }
    atomic_json(store_dir / "summary.json", summary)
    return summary


class FeatureStore:
    """Read side: ``flow(split)`` (uint8 codes, see :func:`signdistill.flow.quantise.dequantise_flow`),
    ``keypoints()`` (the TwoStream-style dict) and the problems of the last build."""

    def __init__(self, root: Path, flow_size: int | None = None) -> None:
        self.root = Path(root)
        sizes = sorted(int(p.name) for p in (self.root / "flow").iterdir() if p.name.isdigit()) \
            if (self.root / "flow").exists() else []
        self.flow_size = flow_size or (sizes[-1] if sizes else None)

    def flow(self, split: str) -> PackedFrames:
        if self.flow_size is None:
            raise MissingInputError(f"{self.root / 'flow'}: the feature store holds no flow; {FEATURES_ADVICE}")
        return PackedFrames(self.root / "flow" / str(self.flow_size), split, FEATURES_ADVICE)

    def keypoints(self) -> dict:
        return read_pickle(self.root / "keypoints.pkl", "feature store file", FEATURES_ADVICE)

    def summary(self) -> dict:
        path = self.root / "summary.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def problems(self) -> list[dict]:
        return self.summary().get("problems", [])
