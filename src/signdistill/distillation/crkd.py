"""CRKD's teacher/student wrapper (Zhu et al., section III-B): a frozen high-resolution teacher and a
low-resolution student trained with the hybrid loss of ``losses.crkd``."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from signdistill.losses.crkd import feature_mse_loss, kld_loss, multilevel_ctc_loss


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
