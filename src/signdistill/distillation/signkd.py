"""SignKD's distiller (paper sec. 3.3): the frozen multi-modal teacher, the RGB student and the per-stage
adapters, trained with the hierarchical loss of ``losses.signkd``.

The teacher is frozen: no gradients, parameters excluded from the optimiser (``requires_grad=False``) and
kept in eval mode (batch-norm statistics fixed) even when the distiller is put in training mode.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from signdistill.losses.signkd import cosine_feature_loss, frame_kl
from signdistill.models.s3d import s3d_block_lengths
from signdistill.models.signkd import SignKDStudent, SignKDTeacher, parse_stages
from signdistill.models.signkd_fusion import resize_to


def cached_teacher_outputs(batch: dict) -> dict | None:
    """The teacher's outputs from targets cached offline (``training.teacher_cache``), None when the batch has none:
    stored time-first ``[B, T_i, C, H, W]`` / ``[B, T/4, V]``, returned as the teacher's forward returns them."""
    if "teacher_log_probs" not in batch:
        return None
    stages = sorted(k for k in batch if k.startswith("teacher_stage"))
    return {"log_probs": batch["teacher_log_probs"].float(),
            "stage_features": [batch[k].float().transpose(1, 2) for k in stages]}


def teacher_inputs(batch: dict) -> dict:
    """What the frozen teacher reads of a training batch: no labels, and its own frames (``video_teacher``) as its
    ``video`` where the student reads another resolution of the same crop (the combined student)."""
    inputs = {k: v for k, v in batch.items() if k not in ("labels", "label_lengths", "video_teacher")}
    if "video_teacher" in batch:
        inputs["video"] = batch["video_teacher"]
    return inputs


def feature_adapter(in_channels: int, out_channels: int, kind: str) -> nn.Module:
    """The layer that maps a student stage f_s^i to H's f_h^i (eq. 3): the paper's 3x3x3 convolution
    (``conv3d``), or ``bottleneck``: 1x1x1 to a quarter of the channels, the 3x3x3 there, 1x1x1 out. Not the
    paper's: the same receptive field at a fraction of the MACs, so that an offline distilled step costs little
    more than a scratch one (the full adapters dominate it on a CPU; ``signdistill bench distill-cost``). A
    depthwise-separable 3x3x3 has fewer MACs still but is slower on the CPU (grouped 3D convolutions miss
    oneDNN's fast path)."""
    if kind == "conv3d":
        return nn.Conv3d(in_channels, out_channels, 3, padding=1)
    if kind == "bottleneck":
        mid = max(1, in_channels // 4)
        return nn.Sequential(nn.Conv3d(in_channels, mid, 1), nn.Conv3d(mid, mid, 3, padding=1),
                             nn.Conv3d(mid, out_channels, 1))
    raise ValueError(f"unknown SignKD adapter {kind!r} (conv3d | bottleneck)")


class SignKDDistiller(nn.Module):
    """Frozen ``SignKDTeacher`` + ``SignKDStudent`` + the per-stage adapters.

    The defaults are the recommended recipe, the one every configured run uses unless it says otherwise (a run's
    ``distill`` options override them by name; ``training.recipes.build_distiller``): L_F and L_O summed over
    each clip's time steps (``"time"``, CTC's scale) and bottleneck adapters. The paper environments set eq. 3's
    ``adapter: conv3d``.

    ``forward(batch)`` follows the model contract with the student's outputs (``log_probs`` decode the
    student). With labels it adds ``kd_feature`` (if any ``feature_stages``) and ``kd_output`` (if
    ``output_loss``) to the student's ``ctc``; the teacher then needs its streams' inputs in the batch.
    In eval mode a batch without them gets the student's CTC only, and without labels the teacher is not
    run at all: at inference the student needs neither flow nor keypoints.

    Across resolutions (``distill_combined``, docs/methods/combined.md): the student may read the crop at a lower
    resolution (``video``) than the teacher (``video_teacher``, ``teacher_inputs``), CRKD's one crop at two
    resolutions. Both are S3D, so stage i of each has the same channels' role and the same time steps, and only
    the spatial grid shrinks with the input: the adapters map the channels and the teacher's stage features are
    average-pooled onto the student's grid (``resize_to``), so eq. 2-4 apply unchanged. That is why the combined
    student is this S3D student at CRKD's resolution rather than LRINet: LRINet keeps the teacher's feature map
    at low resolution by running its split convolutions at the full input size, which costs more MACs than S3D
    at the teacher's own resolution (``signdistill profile lrinet --resolution 72`` against ``signkd_student
    --resolution 224``), while S3D's MACs fall with the square of the input side.
    """

    def __init__(self, teacher: SignKDTeacher, student: SignKDStudent,
                 feature_stages: Iterable[int | str] = (1, 2, 3, 4), output_loss: bool = True,
                 feature_reduction: str = "time", output_reduction: str = "time", adapter: str = "bottleneck") -> None:
        super().__init__()
        self.teacher = teacher.eval().requires_grad_(False)
        self.student = student
        self.feature_stages = parse_stages(feature_stages, "S")
        self.output_loss = output_loss
        self.feature_reduction = feature_reduction
        if output_reduction not in ("mean", "time"):
            raise ValueError(f"unknown output loss reduction {output_reduction!r} (mean | time)")
        self.output_reduction = output_reduction
        self.adapters = nn.ModuleDict({
            f"S{i}": feature_adapter(student.stage_channels[i - 1], teacher.stage_channels[i - 1], adapter)
            for i in self.feature_stages})

    def train(self, mode: bool = True) -> SignKDDistiller:
        super().train(mode)
        self.teacher.eval()  # frozen batch-norm statistics
        return self

    def forward(self, batch: dict) -> dict:
        out = self.student(batch)
        if "labels" not in batch:
            return out
        if not self.training and any(key not in batch for key in self.teacher.input_keys):
            return out
        teacher = cached_teacher_outputs(batch)
        if teacher is None:
            with torch.no_grad():
                teacher = self.teacher(teacher_inputs(batch))
        losses = dict(out["losses"])
        if self.feature_stages:
            losses["kd_feature"] = sum(self.feature_loss(i, out["stage_features"][i - 1],
                                                         teacher["stage_features"][i - 1], batch["lengths"])
                                       for i in self.feature_stages)
        if self.output_loss:
            kl = frame_kl(teacher["log_probs"], out["log_probs"], out["out_lengths"])  # mean over valid frames
            if self.output_reduction == "time":  # summed over each clip's frames, as CTC is
                kl = kl * out["out_lengths"].sum().to(kl.device) / len(out["out_lengths"])
            losses["kd_output"] = kl
        return {**out, "losses": losses, "teacher_log_probs": teacher["log_probs"]}

    def feature_loss(self, stage: int, student: torch.Tensor, teacher: torch.Tensor,
                     lengths: torch.Tensor) -> torch.Tensor:
        """L_F's term for stage ``stage``: adapter(f_s) against f_t on the student's grid, valid steps only."""
        hint = self.adapters[f"S{stage}"](student)
        return cosine_feature_loss(hint, resize_to(teacher, hint.shape[2:]), s3d_block_lengths(lengths, stage),
                                   self.feature_reduction)
