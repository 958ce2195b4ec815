"""Offline distillation: a frozen teacher's targets computed once per clip and augmentation view, read by epochs.

Online distillation runs the frozen teacher forward at every student step, so a distilled epoch costs a
scratch epoch plus a teacher forward (SignKD's three-stream teacher costs several scratch epochs). The
teacher's outputs depend only on its weights and on the clip it sees, so we compute them once, as FKD-style
soft-label caches do, for ``views`` augmentation views of every training clip: view ``v`` is the clip exactly
as the dataset draws it at epoch ``v`` (the draw is a function of seed, epoch and index). Student epoch ``e``
then reads view ``e % views`` (``TeacherTargetDataset.set_epoch``): its clip is bit-identical to what the
teacher saw, so the targets match, and the augmentation cycles through ``views`` draws instead of one per epoch.

Each clip's targets are computed alone (batch of one): no padding enters the teacher, and the collated
targets are padded the way the student's own features are (``collate_clips`` pads every per-frame tensor to
the longest clip), with the padded steps masked out of the losses. Targets are stored time-first in float16:
``teacher_stage<i>`` ``[T_i, C_i, H_i, W_i]`` (the four stage features f_t^i) and ``teacher_log_probs``
``[T/4, V]``. A view is one file ``view<v>.pt`` written atomically; the cache folder's name is a key over the
teacher's weights, the data view and the number of views, so a retrained teacher or another crop never feeds
stale targets, and a killed build resumes at the first missing view.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import replace
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import Dataset
from tqdm.auto import tqdm

from signdistill.data.clips import SignClipDataset, collate_clips
from signdistill.distillation.signkd import teacher_inputs
from signdistill.models.numerics import flush_denormals
from signdistill.training.checkpoint import load_checkpoint, save_atomic

log = logging.getLogger(__name__)
TARGET_PREFIX = "teacher_"


def cache_key(teacher: nn.Module, data_view: dict, views: int, seed: int) -> str:
    """Names the cache: the teacher's weights, the data view the clips are drawn with, the views and the seed."""
    digest = hashlib.sha1()
    for name, tensor in sorted(teacher.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    digest.update(json.dumps({"data": data_view, "views": views, "seed": seed}, sort_keys=True, default=str).encode())
    return digest.hexdigest()[:16]


@torch.no_grad()
def clip_targets(teacher: nn.Module, item: dict, device: torch.device) -> dict[str, torch.Tensor]:
    """The teacher's stage features and output log-probabilities for one clip, time-first, float16, on the CPU."""
    batch = {k: v.to(device) if isinstance(v, torch.Tensor) else v
             for k, v in teacher_inputs(collate_clips([item])).items()}
    out = teacher(batch)
    targets = {f"{TARGET_PREFIX}stage{i + 1}": feature[0].transpose(0, 1).half().cpu()
               for i, feature in enumerate(out["stage_features"])}
    targets[f"{TARGET_PREFIX}log_probs"] = out["log_probs"][0, : int(out["out_lengths"][0])].half().cpu()
    return targets


class TeacherTargetDataset(Dataset):
    """A training ``SignClipDataset`` whose items also carry the frozen teacher's cached targets.

    ``build`` computes the missing views; ``set_epoch(e)`` selects view ``e % views`` (the student's clips and
    the targets). Items carry the student's input and the targets, not what only the teacher reads
    (``student_view``).
    """

    def __init__(self, clips: SignClipDataset, directory: Path, views: int) -> None:
        if views < 1:
            raise ValueError(f"the teacher cache needs at least one view, got {views}")
        self.clips, self.directory, self.views = clips, Path(directory), views
        self.student_clips = student_view(clips)
        self._view, self._targets = -1, {}

    def view_path(self, view: int) -> Path:
        return self.directory / f"view{view}.pt"

    def build(self, teacher: nn.Module, device: torch.device | str = "cpu") -> None:
        """Compute and store every missing view (one teacher forward per clip and view)."""
        device = torch.device(device)
        flush_denormals(True)  # as in training (TrainConfig.flush_denormal): subnormals are slow on CPUs
        teacher = teacher.to(device).eval()
        for view in range(self.views):
            path = self.view_path(view)
            if path.exists():  # written atomically: a file that exists is complete
                continue
            self.clips.set_epoch(view)
            targets = {}
            for i in tqdm(range(len(self.clips)), desc=f"teacher targets, view {view + 1}/{self.views}", leave=False):
                item = self.clips[i]
                targets[item["id"]] = clip_targets(teacher, item, device)
            save_atomic(targets, path)
            log.info("teacher targets: wrote %s (%d clips)", path, len(targets))

    def set_epoch(self, epoch: int) -> None:
        view = epoch % self.views
        self.student_clips.set_epoch(view)
        if view != self._view:
            targets = load_checkpoint(self.view_path(view))
            if targets is None:
                raise FileNotFoundError(f"teacher targets {self.view_path(view)} are missing: build the cache first")
            self._view, self._targets = view, targets

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, i: int) -> dict:
        if self._view < 0:  # read before any set_epoch: view 0, as the trainer's first epoch would select
            self.set_epoch(0)
        item = self.student_clips[i]
        targets = self._targets.get(item["id"])
        if targets is None:
            raise KeyError(f"no cached teacher targets for clip {item['id']} in {self.view_path(self._view)}")
        return {**item, **{k: v.float() for k, v in targets.items()}}


def student_view(clips: SignClipDataset) -> SignClipDataset:
    """``clips`` without the teacher's inputs (its flow and keypoint streams, its own-resolution frames): once its
    targets are cached, loading, cropping and collating them every epoch is wasted. The items' ``video`` is the
    same: the window is drawn before the streams are cut from it, and the streams draw nothing random."""
    crop_key = clips.aug.crop_key if clips.aug.crop_key == "video" else None
    views = tuple(view for view in clips.aug.resized_views if view[0] == "video")
    return SignClipDataset(clips.packed, clips.records, clips.vocabulary,
                           replace(clips.aug, crop_key=crop_key, resized_views=views), seed=clips.seed)
