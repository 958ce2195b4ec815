"""CRKD's hybrid loss (Zhu et al., section III-B, eq. (4), (5), (9), (10)) and the teacher/student wrapper.

``L_Mix = sum_i L_CTC_i + alpha * L_MSE + beta * L_KLDiv``: the terms come back unweighted under the names
``"ctc"`` (the multi-level sum), ``"mse"`` and ``"kld"``, and the trainer weighs them with
``TrainConfig.loss_weights``; ``CRKD_LOSS_WEIGHTS`` holds the paper's alpha / beta (PHOENIX 140 / 120,
CSL 280 / 140).

Reductions (the paper gives none; these are the ones under which its alpha and beta are sensible):

* ``feature_mse_loss``: mean over all elements of the valid frames' feature maps (PyTorch's ``MSELoss``
  default, eq. (4)'s ``/ n``). Per-frame sums over 2048 x 7 x 7 values would make alpha = 140 absurd.
* ``kld_loss``: KL(teacher || student) per frame, summed over the classes and averaged over the valid
  frames (``KLDivLoss(reduction="batchmean")`` on ``[frames, V]``, the VAC ``SeqKD`` convention of the
  CSLR code base MSTNet comes from), temperature 1. Eq. (5) as printed, with p the student, reads as
  KL(student || teacher); the distillation practice it cites ([34], DeiT) and ``nn.KLDivLoss`` take the
  teacher as target, which is what is implemented. ``reduction="element"`` gives PyTorch's plain "mean"
  (also over the classes) for comparison.
* ``multilevel_ctc_loss``: eq. (9), ``-ln prod_i p(s | V_i) = sum_i L_CTC_i``, each level the project's
  ``ctc_loss`` (sum over a sample's frames, mean over the batch).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from signdistill.models.baseline import ctc_loss, time_mask

CRKD_LOSS_WEIGHTS: dict[str, dict[str, float]] = {
    "phoenix": {"ctc": 1.0, "mse": 140.0, "kld": 120.0},  # RWTH-PHOENIX-2014, section IV-B
    "csl": {"ctc": 1.0, "mse": 280.0, "kld": 140.0},  # CSL split I
}


def multilevel_ctc_loss(level_log_probs: Sequence[torch.Tensor], level_lengths: Sequence[torch.Tensor],
                        labels: torch.Tensor, label_lengths: torch.Tensor) -> torch.Tensor:
    """Eq. (9): the sum of the CTC losses of every level (``[B, T_i, V]`` log-probs, lengths ``[B]``)."""
    if len(level_log_probs) != len(level_lengths) or not level_log_probs:
        raise ValueError("one length tensor per level, at least one level")
    return sum(ctc_loss(lp, n, labels, label_lengths) for lp, n in zip(level_log_probs, level_lengths, strict=True))


def multilevel_forward(model: torch.nn.Module, batch: dict) -> dict:
    """The model contract for a network with ``encode(video, lengths, levels)`` (LRINet, MSTNet): the
    per-level outputs are computed only when labels are given, and ``losses["ctc"]`` sums their CTC."""
    has_labels = "labels" in batch
    out = model.encode(batch["video"], batch["lengths"], levels=has_labels)
    if has_labels:
        out["losses"] = {"ctc": multilevel_ctc_loss(out["level_log_probs"], out["level_lengths"], batch["labels"],
                                                    batch["label_lengths"])}
    return out


def feature_mse_loss(student: torch.Tensor, teacher: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Eq. (4) on frame-level features ``[B, T, C, h, w]``: mean squared error over the valid frames only."""
    if student.shape != teacher.shape:
        raise ValueError(f"frame features differ: student {tuple(student.shape)}, teacher {tuple(teacher.shape)}"
                         " (CRKD needs the same channels and map size: LRINet channels = N, feature_size = 7)")
    valid = time_mask(lengths.to(student.device), student.shape[1])
    diff = (student.float() - teacher.float())[valid]  # [frames, C, h, w]
    return diff.pow(2).mean()


def kld_loss(student_log_probs: torch.Tensor, teacher_log_probs: torch.Tensor, lengths: torch.Tensor,
             temperature: float = 1.0, reduction: str = "frame") -> torch.Tensor:
    """KL(teacher || student) on ``[B, T', V]`` log-probabilities over the valid steps (see module docstring).

    With ``temperature`` != 1 both are re-softened (log-softmax of log-probs / tau) and the loss is scaled
    by tau^2 (Hinton et al.); the paper uses tau = 1.
    """
    if student_log_probs.shape != teacher_log_probs.shape:
        raise ValueError(f"outputs differ: student {tuple(student_log_probs.shape)}, "
                         f"teacher {tuple(teacher_log_probs.shape)}")
    valid = time_mask(lengths.to(student_log_probs.device), student_log_probs.shape[1])
    s, t = student_log_probs[valid].float(), teacher_log_probs[valid].float()  # [frames, V]
    if temperature != 1.0:
        s, t = (s / temperature).log_softmax(-1), (t / temperature).log_softmax(-1)
    per_class = t.exp() * (t - s)
    if reduction == "frame":
        value = per_class.sum(-1).mean()
    elif reduction == "element":
        value = per_class.mean()
    else:
        raise ValueError(f"unknown reduction {reduction!r} (frame | element)")
    return value * temperature**2


@dataclass
class CRKDConfig:
    """Which distillation terms the wrapper computes (Table VII's ablation: CTC -> +MSE -> +KLD)."""

    mse: bool = True
    kld: bool = True
    temperature: float = 1.0
    kld_reduction: str = "frame"  # frame | element, see ``kld_loss``


class CRKDDistiller(nn.Module):
    """A frozen high-resolution teacher and a low-resolution student, trained with CRKD's hybrid loss.

    Batch keys: ``"video"`` the student's low-resolution uint8 frames ``[B, T, r, r, 3]`` (what the
    evaluator and deployment feed), ``"video_teacher"`` the same frames at the teacher's resolution
    ``[B, T, R, R, 3]`` (training only), ``"lengths"`` (shared: same frames, two resolutions), and
    ``"labels"`` / ``"label_lengths"``. ``forward`` returns the student's ``log_probs`` / ``out_lengths``
    and, with labels, ``losses``: ``"ctc"`` (student multi-level CTC), ``"mse"`` (frame-level feature
    distillation) and ``"kld"`` (output distillation), unweighted (weights: ``CRKD_LOSS_WEIGHTS``).
    Without ``video_teacher`` (evaluation) only ``"ctc"`` is computed; in training mode it is required.

    Both models implement ``encode(video, lengths, levels) -> dict`` with ``log_probs``, ``out_lengths``,
    ``features`` (``[B, T, N, h, w]``) and, when ``levels``, ``level_log_probs`` / ``level_lengths``.
    The teacher is frozen: no gradients, and it stays in eval mode (BN running statistics) whatever
    ``.train()`` is called with.
    """

    def __init__(self, teacher: nn.Module, student: nn.Module, config: CRKDConfig | None = None) -> None:
        super().__init__()
        self.teacher = teacher
        self.student = student
        self.config = config or CRKDConfig()
        self.teacher.requires_grad_(False)
        self.teacher.eval()

    def train(self, mode: bool = True) -> CRKDDistiller:
        super().train(mode)
        self.teacher.eval()  # frozen: BN keeps the teacher's running statistics
        return self

    def forward(self, batch: dict) -> dict:
        has_labels = "labels" in batch
        lengths = batch["lengths"]
        out = self.student.encode(batch["video"], lengths, levels=has_labels)
        result = {"log_probs": out["log_probs"], "out_lengths": out["out_lengths"]}
        if not has_labels:
            return result
        losses = {"ctc": multilevel_ctc_loss(out["level_log_probs"], out["level_lengths"], batch["labels"],
                                             batch["label_lengths"])}
        if self.config.mse or self.config.kld:
            if "video_teacher" in batch:
                losses.update(self._distill(out, batch["video_teacher"], lengths))
            elif self.training:
                raise KeyError("CRKD training needs batch['video_teacher'] (the high-resolution frames)")
        result["losses"] = losses
        return result

    def _distill(self, out: dict, video_teacher: torch.Tensor, lengths: torch.Tensor) -> dict[str, torch.Tensor]:
        if video_teacher.shape[:2] != out["features"].shape[:2]:
            raise ValueError(f"teacher video has {tuple(video_teacher.shape[:2])} (batch, frames); the student's "
                             f"has {tuple(out['features'].shape[:2])}")
        with torch.no_grad():
            ref = self.teacher.encode(video_teacher, lengths, levels=False)
        losses = {}
        if self.config.mse:
            losses["mse"] = feature_mse_loss(out["features"], ref["features"], lengths)
        if self.config.kld:
            losses["kld"] = kld_loss(out["log_probs"], ref["log_probs"], out["out_lengths"],
                                     self.config.temperature, self.config.kld_reduction)
        return losses
