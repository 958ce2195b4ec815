"""SMKD's frame-level terms: CE with label smoothing on GSBA labels (eq. 10) and plain KD (eq. 12)."""

import pytest
import torch
import torch.nn.functional as F

from signdistill.losses.smkd import IGNORE_INDEX, kd_loss, segmentation_loss

pytestmark = pytest.mark.usefixtures("one_thread")


def test_segmentation_loss_is_smoothed_cross_entropy_over_assigned_frames():
    logits = torch.randn(2, 4, 5, generator=torch.Generator().manual_seed(0))
    labels = torch.tensor([[1, 1, IGNORE_INDEX, 2], [IGNORE_INDEX] * 4])
    expected = 0.0
    for t in (0, 1, 3):
        log_p = logits[0, t].log_softmax(-1)
        target = torch.full((5,), 0.2 / 5)
        target[labels[0, t]] += 0.8
        expected -= (target * log_p).sum().item()
    assert segmentation_loss(logits, labels, 0.2).item() == pytest.approx(expected / 2, rel=1e-5)
    assert segmentation_loss(logits, torch.full((2, 4), IGNORE_INDEX)).item() == 0.0  # nothing assigned


def test_kd_loss_is_zero_when_the_modules_agree_and_trains_only_the_visual_module():
    teacher = torch.randn(2, 5, 6, requires_grad=True)
    student = teacher.detach().clone().requires_grad_()
    lengths = torch.tensor([5, 3])
    assert kd_loss(teacher, student, lengths).item() == pytest.approx(0.0, abs=1e-5)
    other = torch.randn(2, 5, 6, requires_grad=True)
    loss = kd_loss(teacher, other, lengths, tau=8.0)
    loss.backward()
    assert loss.item() > 0 and teacher.grad is None and other.grad[1, 3:].abs().sum() == 0
    # tau^2 * KL of the softened distributions, summed over valid frames, mean over clips
    p, q = (teacher.detach() / 8).softmax(-1), (other.detach() / 8).log_softmax(-1)
    kl = (p * (p.log() - q)).sum(-1)
    assert loss.item() == pytest.approx(64 * (kl[0].sum() + kl[1, :3].sum()).item() / 2, rel=1e-5)
    assert F.kl_div(q, p, reduction="none").sum(-1)[0, 0].item() == pytest.approx(kl[0, 0].item(), rel=1e-5)
