"""SignKD's hierarchical knowledge distillation (paper sec. 3.3, eq. 2-5): multi-modal teacher -> RGB student.

L_HKD = lambda_F L_F + lambda_O L_O + lambda_CTC-VS L_CTC^VS, named ``kd_feature``, ``kd_output`` and
``ctc`` so that the trainer takes the weights from config (``HKD_LOSS_WEIGHTS``: the paper's 0.5 / 1.0 /
1.0; Table 4(b) used 0.1 per feature stage, i.e. set ``kd_feature`` to 0.1).

- L_F (eq. 2-4): for each selected stage i (S1..S4), the student's block-i output goes through its own
  3x3x3 convolution adapter (f_h^i) and is compared with the teacher's stage feature f_t^i (see
  ``models.signkd``: F_fuse of fusion stage M_i) by 1 - cosine over channels at every (t, y, x).
  Eq. 4 sums over locations (``feature_reduction="sum"``). Summed, lambda_F depends on resolution and clip
  length and block 1 weighs ~100x block 4: on the default corpus at initialisation (two clips, RGB 32 px,
  width 0.25) lambda_F L_F is 7,090 against CTC's 61. Averaged over the locations (``"mean"``, the old
  default) it is 2.0, so at lambda_F = 0.5 the term hardly acts. ``"time"`` sums over each clip's time steps
  and averages over space, the way CTC (a sum over a clip's frames) is scaled: 71 against CTC's 61, for
  every resolution. The embedded configuration uses ``"time"`` (``conf/base/parameters_signkd.yml``). The
  stages are summed; padded time steps are excluded.
  A teacher feature on another grid than the student's (a teacher without the RGB stream) is resized
  onto the student's.
- L_O: KL(teacher's late-ensemble probabilities || student's) per frame (temperature 1: the paper gives
  none), averaged over valid frames (``output_reduction="mean"``) or summed over each clip's (``"time"``,
  CTC's scale).
- L_CTC^VS: the student's own CTC.

The teacher is frozen: no gradients, parameters excluded from the optimiser (``requires_grad=False``) and
kept in eval mode (batch-norm statistics fixed) even when the distiller is put in training mode.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
import torch.nn.functional as F
from torch import nn

from signdistill.models.baseline import time_mask
from signdistill.models.s3d import s3d_block_lengths
from signdistill.models.signkd import SignKDStudent, SignKDTeacher, frame_kl, parse_stages, resize_to

HKD_LOSS_WEIGHTS = {"kd_feature": 0.5, "kd_output": 1.0, "ctc": 1.0}


FEATURE_REDUCTIONS = ("mean", "time", "sum")


def cosine_feature_loss(student: torch.Tensor, teacher: torch.Tensor, lengths: torch.Tensor | None = None,
                        reduction: str = "mean") -> torch.Tensor:
    """Eq. 3-4 for one stage ([B, C, T, H, W] features): 1 - cos(f_h, f_t) over channels at every valid (t, y, x),
    then ``"sum"``: summed over (t, y, x) per clip (eq. 4 as written), ``"time"``: summed over t and averaged over
    (y, x) per clip (the scale of CTC, itself a sum over a clip's frames), ``"mean"``: averaged over the valid
    locations; per-clip values are averaged over the batch."""
    if student.shape != teacher.shape:
        raise ValueError(f"student {tuple(student.shape)} and teacher {tuple(teacher.shape)} features differ")
    if reduction not in FEATURE_REDUCTIONS:
        raise ValueError(f"unknown feature loss reduction {reduction!r} ({' | '.join(FEATURE_REDUCTIONS)})")
    loss = 1 - F.cosine_similarity(student.float(), teacher.float(), dim=1)  # [B, T, H, W]
    steps = torch.full((loss.shape[0],), loss.shape[1], device=loss.device) if lengths is None else lengths
    mask = time_mask(steps.to(loss.device), loss.shape[1]).to(loss.dtype)[:, :, None, None]
    total = (loss * mask).sum()
    if reduction == "sum":
        return total / loss.shape[0]
    if reduction == "time":
        return total / (loss.shape[0] * loss.shape[2] * loss.shape[3])
    return total / (mask.sum() * loss.shape[2] * loss.shape[3]).clamp(min=1)


def cached_teacher_outputs(batch: dict) -> dict | None:
    """The teacher's outputs from targets cached offline (``training.teacher_cache``), None when the batch has none:
    stored time-first ``[B, T_i, C, H, W]`` / ``[B, T/4, V]``, returned as the teacher's forward returns them."""
    if "teacher_log_probs" not in batch:
        return None
    stages = sorted(k for k in batch if k.startswith("teacher_stage"))
    return {"log_probs": batch["teacher_log_probs"].float(),
            "stage_features": [batch[k].float().transpose(1, 2) for k in stages]}


class SignKDDistiller(nn.Module):
    """Frozen ``SignKDTeacher`` + ``SignKDStudent`` + the per-stage 3x3x3 adapters.

    ``forward(batch)`` follows the model contract with the student's outputs (``log_probs`` decode the
    student). With labels it adds ``kd_feature`` (if any ``feature_stages``) and ``kd_output`` (if
    ``output_loss``) to the student's ``ctc``; the teacher then needs its streams' inputs in the batch.
    In eval mode a batch without them gets the student's CTC only, and without labels the teacher is not
    run at all: at inference the student needs neither flow nor keypoints.
    """

    def __init__(self, teacher: SignKDTeacher, student: SignKDStudent,
                 feature_stages: Iterable[int | str] = (1, 2, 3, 4), output_loss: bool = True,
                 feature_reduction: str = "mean", output_reduction: str = "mean") -> None:
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
            f"S{i}": nn.Conv3d(student.stage_channels[i - 1], teacher.stage_channels[i - 1], 3, padding=1)
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
                teacher = self.teacher({k: v for k, v in batch.items() if k not in ("labels", "label_lengths")})
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
