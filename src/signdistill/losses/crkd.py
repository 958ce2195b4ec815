"""CRKD's hybrid loss (Zhu et al., section III-B, eq. (4), (5), (9), (10)); the teacher/student wrapper that
computes it is ``distillation.crkd.CRKDDistiller``.

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

import torch

from signdistill.losses.ctc import ctc_loss, time_mask

# Bumped when these losses change while their parameters do not, so that a checkpoint trained with the old ones is
# not resumed as if it were the same run (training.spec.run_fingerprint); tests/losses/test_loss_revisions.py
# fails when this module's code changes and says so.
LOSS_REVISION = 1

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
