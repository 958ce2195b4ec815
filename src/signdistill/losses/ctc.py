"""The losses every recogniser shares: CTC over a padded batch, the mask of a batch's valid frames, and the
layout of CTC targets (one concatenated label tensor for the batch)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

# Bumped when these losses change while their parameters do not, so that a checkpoint trained with the old ones is
# not resumed as if it were the same run (training.spec.run_fingerprint); tests/losses/test_loss_revisions.py
# fails when this module's code changes and says so.
LOSS_REVISION = 1


def time_mask(lengths: torch.Tensor, steps: int) -> torch.Tensor:
    """[B, steps] bool, True on valid frames."""
    return torch.arange(steps, device=lengths.device)[None, :] < lengths[:, None]


def ctc_loss(log_probs: torch.Tensor, lengths: torch.Tensor, labels: torch.Tensor,
             label_lengths: torch.Tensor) -> torch.Tensor:
    """Mean CTC over the batch (sum over each sample's frames), blank 0; [B, T, C] log-probs in."""
    return F.ctc_loss(log_probs.transpose(0, 1).float(), labels, lengths.cpu(), label_lengths.cpu(), blank=0,
                      reduction="sum", zero_infinity=False) / log_probs.shape[0]


def split_labels(labels: torch.Tensor, label_lengths: torch.Tensor) -> list[torch.Tensor]:
    """Concatenated CTC targets -> one label tensor per sample."""
    return list(torch.split(labels, [int(n) for n in label_lengths]))
