"""SMKD's frame-level loss terms (Hao, Min and Chen, ICCV 2021).

Both are summed over a clip's frames and averaged over the batch, the scale of the project's CTC loss
(``signdistill.models.baseline.ctc_loss``), so that the paper's weights (alpha = 0.5) keep their meaning.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from signdistill.losses.ctc import time_mask

# Bumped when these losses change while their parameters do not, so that a checkpoint trained with the old ones is
# not resumed as if it were the same run (training.spec.run_fingerprint); tests/losses/test_loss_revisions.py
# fails when this module's code changes and says so.
LOSS_REVISION = 2

IGNORE_INDEX = -100  # frames GSBA assigned no gloss (F.cross_entropy's default ignore index)


def segmentation_loss(visual_logits: torch.Tensor, pseudo_labels: torch.Tensor, label_smoothing: float = 0.2,
                      ignore_index: int = IGNORE_INDEX) -> torch.Tensor:
    """L_CE-LS of eq. 10: cross-entropy with label smoothing between the visual module's logits [B, T, C]
    and GSBA's per-frame pseudo-labels [B, T]; frames at ``ignore_index`` (unassigned, padding) add nothing.
    The smoothing spreads over all C classes, blank included."""
    loss = F.cross_entropy(visual_logits.flatten(0, 1).float(), pseudo_labels.flatten(), ignore_index=ignore_index,
                           label_smoothing=label_smoothing, reduction="sum")
    return loss / visual_logits.shape[0]


def kd_loss(teacher_logits: torch.Tensor, student_logits: torch.Tensor, lengths: torch.Tensor,
            tau: float = 8.0) -> torch.Tensor:
    """Plain KD of Table 3 (eq. 12): from the contextual module's softened predictions (teacher, not
    trained by this term) to the visual module's, temperature ``tau`` = 8, over the valid frames of
    [B, T, C] logits.

    Computed as KL(teacher || student), which has eq. 12's cross-entropy gradient but is zero when the
    two agree (the cross-entropy adds the teacher's entropy, a constant). As eq. 12 is written: no
    tau^2 factor (Hinton et al. add one; the paper does not).
    """
    mask = time_mask(lengths, student_logits.shape[1])
    log_target = (teacher_logits.detach().float() / tau).log_softmax(-1)
    log_student = (student_logits.float() / tau).log_softmax(-1)
    kl = (log_target.exp() * (log_target - log_student)).sum(-1)
    return kl[mask.to(kl.device)].sum() / student_logits.shape[0]
