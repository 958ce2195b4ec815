"""Training clips from the packed frame store: augmentation, labels, padding and length bookkeeping.

Augmentation follows the VAC/SMKD recipe: one random crop and one horizontal flip for the whole clip,
and a temporal rescale of +-20%; evaluation uses the centre crop at the original length. Random draws
come from (seed, epoch, sample index) alone, so an epoch is the same whether or not the run was
interrupted and resumed, and whatever the number of loader workers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from signdistill.data.store import PackedFrames, ctc_min_output_length
from signdistill.data.vocabulary import Vocabulary


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
    temporal_context: int = 12  # see ``signdistill.data.store.ctc_output_length``
    # extra keys holding the same clip resized to a lower resolution, e.g. (("video_low", 36),): the
    # CRKD recipe crops at the teacher's size, then resizes that crop for the student
    resized_views: tuple[tuple[str, int], ...] = ()
    crop_key: str | None = "video"  # the crop itself under this key (None: only the resized views)


def temporal_indices(length: int, scale: float, min_length: int) -> np.ndarray:
    """Frame indices that stretch or squeeze a clip by ``scale``, never below ``min_length`` frames."""
    new_length = max(int(round(length * scale)), min(min_length, length), 1)
    return np.round(np.linspace(0, length - 1, new_length)).astype(np.int64)


class SignClipDataset(Dataset):
    """``dataset[i] -> {"id", "signer", "video": uint8 [T, crop, crop, 3], "labels": int64 [L]}``."""

    def __init__(self, packed: PackedFrames, records: Sequence[ClipRecord], vocabulary: Vocabulary,
                 augmentation: Augmentation, seed: int = 0) -> None:
        self.packed, self.records, self.vocabulary = packed, list(records), vocabulary
        self.aug, self.seed, self.epoch = augmentation, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, i: int) -> dict:
        record = self.records[i]
        frames = self.packed[record.id]
        rng = np.random.default_rng([self.seed, self.epoch, i])
        video = self._augment(frames, record, rng) if self.aug.train else self._centre(frames)
        known = [g for g in record.glosses if g in self.vocabulary]
        item = {"id": record.id, "signer": record.signer,
                "labels": torch.tensor(self.vocabulary.encode(known), dtype=torch.long)}
        if self.aug.crop_key:
            item[self.aug.crop_key] = torch.from_numpy(np.ascontiguousarray(video))
        for key, size in self.aug.resized_views:
            item[key] = torch.from_numpy(resize_frames(video, size))
        return item

    def _centre(self, frames: np.ndarray) -> np.ndarray:
        h, w = frames.shape[1:3]
        top, left = (h - self.aug.crop) // 2, (w - self.aug.crop) // 2
        return np.array(frames[:, top:top + self.aug.crop, left:left + self.aug.crop])

    def _augment(self, frames: np.ndarray, record: ClipRecord, rng: np.random.Generator) -> np.ndarray:
        h, w = frames.shape[1:3]
        top, left = int(rng.integers(0, h - self.aug.crop + 1)), int(rng.integers(0, w - self.aug.crop + 1))
        needed = ctc_min_output_length(record.glosses) * self.aug.temporal_downsample + self.aug.temporal_context
        scale = 1.0 + rng.uniform(-self.aug.temporal_scale, self.aug.temporal_scale)
        idx = temporal_indices(len(frames), scale, needed)
        clip = frames[idx, top:top + self.aug.crop, left:left + self.aug.crop]
        if self.aug.flip and rng.random() < 0.5:
            clip = clip[:, :, ::-1]
        return clip


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
    """Zero-pad every video view to the longest clip; labels concatenated, as ``F.ctc_loss`` takes them."""
    lengths = torch.tensor([it["video"].shape[0] for it in items], dtype=torch.long)
    views = [k for k, v in items[0].items() if isinstance(v, torch.Tensor) and v.dim() == 4]
    labels = [it["labels"] for it in items]
    return {**{k: _pad_videos([it[k] for it in items], int(lengths.max())) for k in views},
            "lengths": lengths, "labels": torch.cat(labels),
            "label_lengths": torch.tensor([len(x) for x in labels], dtype=torch.long),
            "ids": [it["id"] for it in items], "signers": [it["signer"] for it in items]}
