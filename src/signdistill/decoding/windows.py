"""Long videos in overlapping windows: peak memory set by the window, not by the video's length.

A video of T frames is cut into cores of ``window`` frames; each core is run through the whole input pipeline
(resize and crop, flow, keypoints: ``decoding.video.video_batch``) and the model with ``overlap`` frames of
context on each side, so no forward pass sees more than ``window + 2 * overlap`` frames. From each window only
the output steps of its core are kept (the margins lack context on one side) and the kept steps are laid end
to end on the whole video's output grid, which CTC then decodes once (``decoding.spans``).

Alignment. Every recogniser shortens time by an integer ``temporal_stride`` s (frames per output step: 4 for
the baseline, SMKD, SignKD's S3D, LRINet and MSTNet, CTCA's ``frame_stride`` 2). A window starting at frame
``a``, a multiple of s, then has its local step i at global step ``a / s + i``, for the valid convolutions of
the baseline (T -> ((T - 4) // 2 - 4) // 2) as for the "same" ones of S3D (ceil(ceil(T / 2) / 2)); so the
window, the overlap and hence every start are multiples of s, and the stitched sequence has exactly the whole
video's number of steps.

Defaults, and why: ``WINDOW`` = 256 frames (about 10 s at 25 fps) of core, ``OVERLAP`` = 64 frames on each
side, at most 384 frames per forward pass, about the longest PHOENIX training sentence, i.e. what the BiLSTMs
were trained to see. 64 frames cover every convolutional receptive field with room to spare (the baseline's
K5-P2-K5-P2 reads 16 frames per step, 12 after its centre; SignKD's S3D blocks about 31 frames each side and
its head's two k3 convolutions at stride 4 another 8), so a model without recurrence or attention (SignKD,
LRINet) gives the whole-video log-probabilities to float precision, and a BiLSTM (baseline, SMKD, CTCA) or
MSTNet's transformer sees 64 frames, a few signs, past each end of the core it answers for. Whether that is
enough for a BiLSTM is measured, not assumed: ``signdistill bench windowed-decoding`` compares the glosses and
log-probabilities of whole and windowed decoding on long SynthSign videos, for any overlap (``--overlap``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from signdistill.data.features import FeatureConfig
from signdistill.data.frames import FrameFolder, VideoFrames
from signdistill.decoding.video import StageTimer, video_batch
from signdistill.models.baseline import BaselineRecognizer, TemporalConv

WINDOW = 256
OVERLAP = 64
# frames in memory, or a frame folder or video file read slice by slice (``data.frames.open_frames``)
Frames = np.ndarray | FrameFolder | VideoFrames


@dataclass(frozen=True)
class Window:
    """Frames ``[start, stop)`` go through the model; its output steps for frames ``[keep_from, keep_to)``
    (the core) are kept."""

    start: int
    stop: int
    keep_from: int
    keep_to: int


def temporal_stride(model: nn.Module) -> int:
    """Input frames per output step of a recogniser (its ``temporal_stride``)."""
    stride = getattr(model, "temporal_stride", None)
    if stride is None:
        raise ValueError(f"{type(model).__name__} does not say its temporal_stride (frames per output step), "
                         "which windowed decoding needs; decode it whole (no --window)")
    return int(stride)


def minimum_frames(model: nn.Module) -> int:
    """The fewest frames ``model`` runs on: a K5-P2-K5-P2 (``TemporalConv``, unpadded) needs its ``min_steps``
    inputs, which CTCA's frame dropping takes from ``frame_stride`` times as many frames; other stacks pad."""
    if not any(isinstance(m, TemporalConv) for m in model.modules()):
        return 1
    frame_stride = max(1, int(getattr(model, "temporal_stride", 4)) // BaselineRecognizer.temporal_stride)
    return TemporalConv.min_steps * frame_stride


def check_windowing(window: int, overlap: int, stride: int) -> None:
    """One clear error for a window or overlap the model's output grid cannot align."""
    if window <= 0 or overlap < 0:
        raise ValueError(f"window {window} must be > 0 and overlap {overlap} >= 0")
    if window % stride or overlap % stride:
        raise ValueError(f"window {window} and overlap {overlap} must be multiples of the model's temporal stride "
                         f"{stride} (frames per output step), so that windows align with the output grid")


def plan_windows(frames: int, window: int = WINDOW, overlap: int = OVERLAP) -> list[Window]:
    """The windows of a ``frames``-frame video: one whole window when it fits in ``window + 2 * overlap``, else
    cores of ``window`` frames (the last one shorter) with ``overlap`` frames of context each side."""
    if frames <= window + 2 * overlap:
        return [Window(0, frames, 0, frames)]
    cores = range(0, frames, window)
    return [Window(max(0, a - overlap), min(frames, a + window + overlap), a, min(frames, a + window))
            for a in cores]


def stitch(pieces: list[tuple[Window, torch.Tensor]], stride: int) -> torch.Tensor:
    """Per-step outputs ``[T', C]`` of the whole video from each window's ``[n, C]`` outputs: window w gives
    global steps ``[w.keep_from / s, w.keep_to / s)`` (the last one up to its end), read at local step
    ``global - w.start / s``. Raises when a window's outputs do not reach its core (an overlap too small for
    the model's lag)."""
    last_window, last_out = pieces[-1]
    total = last_window.start // stride + len(last_out)  # the whole video's steps (the last window ends at T)
    kept = []
    for k, (w, out) in enumerate(pieces):
        offset = w.start // stride
        first = min(w.keep_from // stride, total)
        last = total if k == len(pieces) - 1 else min(w.keep_to // stride, total)
        if offset + len(out) < last:
            raise ValueError(f"window {w} ends at output step {offset + len(out)} before its core's last step "
                             f"{last}: the overlap is shorter than the model's lag")
        kept.append(out[first - offset:last - offset])
    return torch.cat(kept)


@torch.inference_mode()
def windowed_log_probs(model: nn.Module, frames: Frames, view: dict,
                       features: FeatureConfig | None = None, window: int | None = WINDOW, overlap: int = OVERLAP,
                       timer: StageTimer | None = None) -> torch.Tensor:
    """Float log-probabilities ``[T', C]`` (cpu) of one video, computed window by window (``plan_windows``):
    each window's frames are read (from a ``FrameFolder`` or ``VideoFrames``), preprocessed and run alone, so
    memory does not grow with the video. A video that fits one window (or any video with ``window`` None) is
    run whole, exactly as ``video_batch`` + the model."""
    device = next(model.parameters()).device
    timer = timer or StageTimer(device)
    if len(frames) < minimum_frames(model):
        raise ValueError(f"{len(frames)} frames are too few for this {type(model).__name__}, which needs at least "
                         f"{minimum_frames(model)}")
    if window is None:  # whole, as before windowing existed (and for a model that says no temporal_stride)
        stride, plan = 1, [Window(0, len(frames), 0, len(frames))]
    else:
        stride = temporal_stride(model)
        check_windowing(window, overlap, stride)
        plan = plan_windows(len(frames), window, overlap)
    pieces = []
    for w in plan:
        batch = video_batch(frames[w.start:w.stop], view, features, device, timer)
        out = timer.time("model", lambda batch=batch: model(batch))
        steps = int(out["out_lengths"][0])
        pieces.append((w, out["log_probs"][0, :steps].float().cpu()))
    return stitch(pieces, stride)
