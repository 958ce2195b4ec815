"""SMKD's frame-level terms: CE with label smoothing on GSBA labels (eq. 10) and plain KD (eq. 12)."""

import pytest
import torch

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
    # eq. 12 as written, CE(Y_g / tau, Y_v / tau) with no tau^2: d/dz_v = (softmax(z_v / tau) - softmax(z_g / tau))
    # / tau per valid frame, over the batch of 2
    grad = ((other.detach() / 8).softmax(-1) - (teacher.detach() / 8).softmax(-1)) / 8 / 2
    torch.testing.assert_close(other.grad[0], grad[0])
    torch.testing.assert_close(other.grad[1, :3], grad[1, :3])
