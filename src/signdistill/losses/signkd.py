"""SignKD's hierarchical knowledge distillation (paper sec. 3.3, eq. 2-5): multi-modal teacher -> RGB student.

L_HKD = lambda_F L_F + lambda_O L_O + lambda_CTC-VS L_CTC^VS, named ``kd_feature``, ``kd_output`` and
``ctc`` so that the trainer takes the weights from config (``HKD_LOSS_WEIGHTS``: the paper's 0.5 / 1.0 /
1.0; Table 4(b) used 0.1 per feature stage, i.e. set ``kd_feature`` to 0.1).

- L_F (eq. 2-4): for each selected stage i (S1..S4), the student's block-i output goes through its own
  3x3x3 convolution adapter (f_h^i) and is compared with the teacher's stage feature f_t^i (see
  ``models.signkd_fusion``: F_fuse of fusion stage M_i) by 1 - cosine over channels at every (t, y, x).
  Eq. 4 sums over locations (``feature_reduction="sum"``). Summed, lambda_F depends on resolution and clip
  length and block 1 weighs far more than block 4, so the term dwarfs CTC; averaged over the locations
  (``"mean"``) it is so small against CTC that at lambda_F = 0.5 it hardly acts. ``"time"``, the
  distiller's default, sums over each clip's time steps and averages over space, the way CTC (a sum over a
  clip's frames) is scaled, for every resolution (``signdistill bench distill-cost`` prints the terms at
  initialisation). The stages are summed; padded time steps are excluded.
  A teacher feature on another grid than the student's (a teacher without the RGB stream) is resized
  onto the student's.
- L_O: KL(teacher's late-ensemble probabilities || student's) per frame (temperature 1: the paper gives
  none), averaged over valid frames (``output_reduction="mean"``) or summed over each clip's (``"time"``,
  CTC's scale).
- L_CTC^VS: the student's own CTC.

The distiller that runs teacher and student and adds these terms is ``distillation.signkd.SignKDDistiller``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from signdistill.losses.ctc import time_mask

# Bumped when these losses change while their parameters do not, so that a checkpoint trained with the old ones is
# not resumed as if it were the same run (training.spec.run_fingerprint); tests/losses/test_loss_revisions.py
# fails when this module's code changes and says so.
LOSS_REVISION = 1

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


def frame_kl(target_log_probs: torch.Tensor, log_probs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """KL(target || prediction) per frame over the classes, mean over the valid frames of [B, T, C] inputs."""
    target, pred = target_log_probs.float(), log_probs.float()
    kl = (target.exp() * (target - pred)).sum(-1)
    mask = time_mask(lengths.to(kl.device), kl.shape[1]).to(kl.dtype)
    return (kl * mask).sum() / mask.sum().clamp(min=1)
