"""Video in, glosses out: a trained model's whole input pipeline applied to one decoded video.

Training and evaluation read preprocessed stores (frames resized once, flow and keypoints cached); a
deployed recogniser starts from the camera's frames. ``video_batch`` redoes, for one video and timed
stage by stage, exactly what the stores and the evaluation dataset do to it: square resize to the store
size (area), centre crop, resize for low-resolution students, and for multi-modal models TV-L1 flow on the
flow-size frames and MediaPipe keypoints on the source frames, cropped and mapped like the RGB clip
(``data.clips.AlignedStreams``). Heatmaps are rendered inside the model (``models.signkd.stream_inputs``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from signdistill.data.clips import ClipWindow, resize_frames, window_streams
from signdistill.data.features import FeatureConfig, video_flow, video_keypoints
from signdistill.data.frames import read_frames
from signdistill.data.vocabulary import Vocabulary
from signdistill.decoding.ctc import decode_log_probs
from signdistill.metrics.efficiency import sync_device
from signdistill.models.registry import inference_network, load_recognizer


@dataclass
class StageTimer:
    """Seconds per named stage (device work synchronised before each stop)."""

    device: torch.device = torch.device("cpu")
    seconds: dict[str, float] = field(default_factory=dict)

    def time(self, stage: str, work: Callable[[], object]) -> object:
        sync_device(self.device)
        start = time.perf_counter()
        result = work()
        sync_device(self.device)
        self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - start
        return result


def _centre(size: int, crop: int) -> int:
    return (size - crop) // 2


def video_batch(frames: np.ndarray, view: dict, features: FeatureConfig | None = None,
                device: torch.device | str = "cpu", timer: StageTimer | None = None) -> dict:
    """A one-clip batch for a model trained on ``view`` (its package's ``data``: store_size, crop, resize,
    streams) from RGB frames ``[T, H, W, 3]`` at source resolution; stages ``rgb``, ``flow`` and
    ``keypoints`` are timed into ``timer``."""
    timer = timer or StageTimer(torch.device(device))
    size, crop = int(view["store_size"]), int(view["crop"])
    top = _centre(size, crop)

    def rgb() -> torch.Tensor:
        clip = resize_frames(frames, size)[:, top:top + crop, top:top + crop]
        if view.get("resize"):
            clip = resize_frames(clip, int(view["resize"]))
        return torch.from_numpy(np.ascontiguousarray(clip))[None].to(device)

    batch = {"video": timer.time("rgb", rgb), "lengths": torch.tensor([len(frames)], device=device)}
    streams = view.get("streams") or []
    if streams and features is None:
        raise ValueError(f"streams {streams} need the FeatureConfig the model's features were made with")
    if not streams:
        return batch
    window = ClipWindow(np.arange(len(frames)), top, top, crop, False)  # the evaluation view: centre, whole clip
    scale = features.flow_size / size
    if "flow" in streams:
        def flow() -> torch.Tensor:
            codes = video_flow(resize_frames(frames, features.flow_size), features, str(device))
            return window_streams(window, crop, size, scale, flow_codes=codes,
                                  flow_bound=features.flow_bound)["flow"][None].to(device)

        batch["flow"] = timer.time("flow", flow)
    if "keypoints" in streams:
        def keypoints() -> torch.Tensor:
            points, _ = video_keypoints(frames, features)
            return window_streams(window, crop, size, scale, keypoints=points,
                                  frame_size=tuple(frames.shape[1:3]))["keypoints"][None].to(device)

        batch["keypoints"] = timer.time("keypoints", keypoints)
    return batch


@torch.inference_mode()
def recognise_video(model: nn.Module, frames: np.ndarray, view: dict, vocabulary: Vocabulary,
                    features: FeatureConfig | None = None, method: str = "beam", beam_width: int = 10,
                    timer: StageTimer | None = None) -> list[str]:
    """Glosses of one video (``frames`` at source resolution) by a model in eval mode; stages ``rgb``,
    ``flow``, ``keypoints``, ``model`` and ``decode`` are timed into ``timer``."""
    device = next(model.parameters()).device
    timer = timer or StageTimer(device)
    batch = video_batch(frames, view, features, device, timer)
    out = timer.time("model", lambda: model(batch))
    ids = timer.time("decode", lambda: decode_log_probs(out["log_probs"].float().cpu(), out["out_lengths"].cpu(),
                                                         method, beam_width)[0])
    return vocabulary.decode(ids)


def time_recognition(model: nn.Module, frames: np.ndarray, view: dict, vocabulary: Vocabulary,
                     features: FeatureConfig | None = None, method: str = "beam", beam_width: int = 10,
                     repeats: int = 3) -> dict[str, float]:
    """Median seconds per stage (and ``total``) of ``recognise_video`` over ``repeats`` runs after one
    untimed warm-up (graph construction, allocator, MediaPipe start-up)."""
    runs = []
    for i in range(repeats + 1):
        timer = StageTimer(next(model.parameters()).device)
        recognise_video(model, frames, view, vocabulary, features, method, beam_width, timer)
        if i:
            runs.append({**timer.seconds, "total": sum(timer.seconds.values())})
    return {stage: float(np.median([r[stage] for r in runs])) for stage in runs[0]}


def packaged_model(package: dict) -> tuple[nn.Module, dict, Vocabulary]:
    """What ``end_to_end_latency`` takes for a trained model package: the network that runs at test time
    (``inference_network``: CTCA without its training-only branches), its data view, its vocabulary."""
    return inference_network(load_recognizer(package)), package["data"], Vocabulary.from_dict(package["vocabulary"])


def end_to_end_latency(models: dict[str, tuple[nn.Module, dict, Vocabulary]], source: Path,
                       features: FeatureConfig, method: str = "beam", beam_width: int = 10,
                       repeats: int = 3) -> dict:
    """Video file or frame folder in, glosses out, for each ``name: (model, view, vocabulary)``: ``seconds``
    ``{name: {stage: median s, "total": s}}`` with reading the video (``read``, shared) included, the video's
    ``frames`` and ``ratio``, the first model's total over the last's."""
    read_times = []
    for _ in range(repeats):
        start = time.perf_counter()
        frames = read_frames(source)
        read_times.append(time.perf_counter() - start)
    read = float(np.median(read_times))
    seconds = {}
    for name, (model, view, vocabulary) in models.items():
        stages = time_recognition(model, frames, view, vocabulary, features, method, beam_width, repeats)
        seconds[name] = {"read": read, **stages, "total": stages["total"] + read}
    first, last = list(models)[0], list(models)[-1]
    return {"video": str(source), "frames": len(frames), "seconds": seconds,
            "ratio": seconds[first]["total"] / seconds[last]["total"]}
