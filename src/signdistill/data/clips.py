"""Training clips from the packed frame store: augmentation, labels, padding and length bookkeeping.

Augmentation follows the VAC/SMKD recipe: one random crop and one horizontal flip for the whole clip,
and a temporal rescale of +-20%; evaluation uses the centre crop at the original length. SignKD's recipe
(TwoStream-SLR) crops a random square of 0.7-1.0 of the frame's side instead and resizes it to the crop
size (``Augmentation.crop_scale``); flow and keypoints follow that window too. Random draws
come from (seed, epoch, sample index) alone, so an epoch is the same whether or not the run was
interrupted and resumed, and whatever the number of loader workers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from signdistill.data.records import ctc_min_output_length
from signdistill.data.store import PackedFrames
from signdistill.data.vocabulary import Vocabulary
from signdistill.flow.quantise import dequantise_flow
from signdistill.pose.heatmaps import transform_keypoints


@dataclass(frozen=True)
class ClipRecord:
    id: str
    glosses: tuple[str, ...]
    signer: str


@dataclass(frozen=True)
class Augmentation:
    crop: int
    train: bool
    flip: bool = True
    temporal_scale: float = 0.2
    temporal_downsample: int = 4
    temporal_context: int = 12  # see ``signdistill.data.records.ctc_output_length``
    # extra keys holding the same clip resized to a lower resolution, e.g. (("video_low", 36),): the
    # CRKD recipe crops at the teacher's size, then resizes that crop for the student
    resized_views: tuple[tuple[str, int], ...] = ()
    crop_key: str | None = "video"  # the crop itself under this key (None: only the resized views)
    # training only: the window's side is a uniform fraction of the stored frame's (shorter) side in this
    # range, resized to ``crop`` (SignKD: (0.7, 1.0)); None: a fixed crop x crop window
    crop_scale: tuple[float, float] | None = None


def temporal_indices(length: int, scale: float, min_length: int) -> np.ndarray:
    """Frame indices that stretch or squeeze a clip by ``scale``, never below ``min_length`` frames."""
    new_length = max(int(round(length * scale)), min(min_length, length), 1)
    return np.round(np.linspace(0, length - 1, new_length)).astype(np.int64)


@dataclass(frozen=True)
class AlignedStreams:
    """Per-frame inputs stored beside the RGB store that follow the RGB clip's crop, flip and time steps.

    ``flow``: uint8 TV-L1 codes ``[T, h, w, 2]`` of a store ``scale`` times the RGB store's size (SignKD: 64
    next to 128); ``keypoints``: ``{id: {"keypoints": [T, 133, 3], "frame_size": (h, w)}}`` in source pixels.
    Items gain ``flow`` float ``[T, 2, c, c]`` in pixels of that store (c = the RGB crop x ``scale``; a flip
    mirrors the field and negates dx) and ``keypoints`` ``[T, 133, 3]`` in the same c x c crop (a flip also
    swaps left and right labels), from which the model renders heatmaps on its device.
    """

    flow: PackedFrames | None = None
    keypoints: dict | None = None
    scale: float = 0.5
    flow_bound: float = 20.0


@dataclass(frozen=True)
class ClipWindow:
    """Where a clip comes from in its stored video: time steps, crop corner and side (the window, resized to
    the augmentation's crop when they differ), mirrored or not."""

    steps: np.ndarray
    top: int
    left: int
    crop: int
    flip: bool


class SignClipDataset(Dataset):
    """``dataset[i] -> {"id", "signer", "video": uint8 [T, crop, crop, 3], "labels": int64 [L]}``."""

    def __init__(self, packed: PackedFrames, records: Sequence[ClipRecord], vocabulary: Vocabulary,
                 augmentation: Augmentation, seed: int = 0, streams: AlignedStreams | None = None) -> None:
        self.packed, self.records, self.vocabulary = packed, list(records), vocabulary
        self.aug, self.seed, self.epoch = augmentation, seed, 0
        self.streams = streams

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, i: int) -> dict:
        record = self.records[i]
        frames = self.packed[record.id]
        rng = np.random.default_rng([self.seed, self.epoch, i])
        window = self._window(frames, record, rng) if self.aug.train else self._centre(frames)
        video = frames[window.steps, window.top:window.top + window.crop, window.left:window.left + window.crop]
        if window.crop != self.aug.crop:
            video = resize_frames(video, self.aug.crop)
        if window.flip:
            video = video[:, :, ::-1]
        known = [g for g in record.glosses if g in self.vocabulary]
        item = {"id": record.id, "signer": record.signer,
                "labels": torch.tensor(self.vocabulary.encode(known), dtype=torch.long)}
        if self.aug.crop_key:
            item[self.aug.crop_key] = torch.from_numpy(np.ascontiguousarray(video))
        for key, size in self.aug.resized_views:
            item[key] = torch.from_numpy(resize_frames(video, size))
        if self.streams is not None:
            item.update(self._streams(record.id, window, frames.shape[1]))
        return item

    def _centre(self, frames: np.ndarray) -> ClipWindow:
        h, w = frames.shape[1:3]
        crop = self.aug.crop
        return ClipWindow(np.arange(len(frames)), (h - crop) // 2, (w - crop) // 2, crop, False)

    def _window(self, frames: np.ndarray, record: ClipRecord, rng: np.random.Generator) -> ClipWindow:
        h, w = frames.shape[1:3]
        side = self.aug.crop
        if self.aug.crop_scale is not None:
            side = max(1, round(rng.uniform(*self.aug.crop_scale) * min(h, w)))
        top, left = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
        needed = ctc_min_output_length(record.glosses) * self.aug.temporal_downsample + self.aug.temporal_context
        scale = 1.0 + rng.uniform(-self.aug.temporal_scale, self.aug.temporal_scale)
        steps = temporal_indices(len(frames), scale, needed)
        return ClipWindow(steps, top, left, side, bool(self.aug.flip and rng.random() < 0.5))

    def _streams(self, video_id: str, window: ClipWindow, store_size: int) -> dict:
        """The aligned streams of ``window``: the RGB crop scaled to the streams' store (see ``AlignedStreams``)."""
        streams = self.streams
        codes = streams.flow[video_id] if streams.flow is not None else None
        entry = streams.keypoints[video_id] if streams.keypoints is not None else None
        return window_streams(window, self.aug.crop, store_size, streams.scale, codes,
                              None if entry is None else entry["keypoints"],
                              None if entry is None else tuple(entry["frame_size"]), streams.flow_bound)


def window_streams(window: ClipWindow, crop: int, store_size: int, scale: float, flow_codes: np.ndarray | None = None,
                   keypoints: np.ndarray | None = None, frame_size: tuple[int, int] | None = None,
                   flow_bound: float = 20.0) -> dict:
    """Flow and keypoints of one video seen through an RGB ``window`` of a ``store_size`` store whose output is
    ``crop`` px: ``flow`` float ``[T, 2, c, c]`` from uint8 codes ``[T, h, w, 2]`` of a store ``scale`` times
    as large (c = crop x scale; a resized window resamples the field and scales its vectors, a flip mirrors it
    and negates dx) and ``keypoints`` ``[T, 133, 3]`` from source pixels (``frame_size`` (h, w)) into that
    c x c crop (a flip also swaps left and right labels)."""
    out = {}
    top, left = round(window.top * scale), round(window.left * scale)
    side, size = round(window.crop * scale), round(crop * scale)
    if flow_codes is not None:
        codes = flow_codes[window.steps, top:top + side, left:left + side]
        flow = dequantise_flow(torch.from_numpy(np.ascontiguousarray(codes)).permute(0, 3, 1, 2), flow_bound)
        if side != size:  # a resized window: the field is resampled and its vectors scale with it
            flow = F.interpolate(flow, size=(size, size), mode="bilinear", align_corners=False) * (size / side)
        if window.flip:  # the mirrored motion moves the other way along x
            flow = flow.flip(-1) * torch.tensor([-1.0, 1.0]).view(1, 2, 1, 1)
        out["flow"] = flow.contiguous()
    if keypoints is not None:
        points = torch.from_numpy(np.asarray(keypoints, np.float32)[window.steps])
        out["keypoints"] = transform_keypoints(points, frame_size, round(store_size * scale), top, left, side, size,
                                               window.flip)
    return out


def resize_frames(frames: np.ndarray, size: int) -> np.ndarray:
    """[T, H, W, 3] uint8 -> [T, size, size, 3] with area averaging (what a camera at that size records)."""
    return np.stack([cv2.resize(np.ascontiguousarray(f), (size, size), interpolation=cv2.INTER_AREA)
                     for f in frames])


def _pad_videos(videos: Sequence[torch.Tensor], length: int) -> torch.Tensor:
    out = torch.zeros((len(videos), length, *videos[0].shape[1:]), dtype=videos[0].dtype)
    for b, video in enumerate(videos):
        out[b, : video.shape[0]] = video
    return out


def collate_clips(items: Sequence[dict]) -> dict:
    """Zero-pad every per-frame tensor (video views, flow, keypoints, cached teacher targets) along time to the
    longest in the batch; labels concatenated, as ``F.ctc_loss`` takes them."""
    lengths = torch.tensor([it["video"].shape[0] for it in items], dtype=torch.long)
    views = [k for k, v in items[0].items() if isinstance(v, torch.Tensor) and k != "labels"]  # per-frame
    labels = [it["labels"] for it in items]
    return {**{k: _pad_videos([it[k] for it in items], max(int(it[k].shape[0]) for it in items)) for k in views},
            "lengths": lengths, "labels": torch.cat(labels),
            "label_lengths": torch.tensor([len(x) for x in labels], dtype=torch.long),
            "ids": [it["id"] for it in items], "signers": [it["signer"] for it in items]}
