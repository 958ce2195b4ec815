"""SignKD's hierarchical KD losses: the paper's weights and the cosine feature loss with its reductions."""

from __future__ import annotations

import pytest
import torch

from signdistill.losses.signkd import HKD_LOSS_WEIGHTS, cosine_feature_loss


def test_paper_weights() -> None:
    assert HKD_LOSS_WEIGHTS == {"kd_feature": 0.5, "kd_output": 1.0, "ctc": 1.0}


def test_cosine_loss_values() -> None:
    x = torch.randn(2, 5, 4, 3, 3)
    assert cosine_feature_loss(x, x).abs() < 1e-6
    assert cosine_feature_loss(x, 3.0 * x).abs() < 1e-6  # scale-free
    torch.testing.assert_close(cosine_feature_loss(x, -x), torch.tensor(2.0))
    a, b = torch.zeros(1, 2, 1, 1, 1), torch.zeros(1, 2, 1, 1, 1)
    a[:, 0], b[:, 1] = 1.0, 1.0
    torch.testing.assert_close(cosine_feature_loss(a, b), torch.tensor(1.0))  # orthogonal
    with pytest.raises(ValueError, match="differ"):
        cosine_feature_loss(x, x[:, :4])


def test_cosine_loss_ignores_padding() -> None:
    x = torch.randn(2, 5, 4, 3, 3)
    y = x.clone()
    y[1, :, 2:] = torch.randn(5, 2, 3, 3)  # only the padded steps of clip 2 differ
    assert cosine_feature_loss(x, y, torch.tensor([4, 2])).abs() < 1e-6
    assert cosine_feature_loss(x, y, torch.tensor([4, 3])) > 0


def test_feature_loss_reductions_scale_with_time_not_space() -> None:
    """``time`` counts each time step like CTC and does not change with the resolution; ``sum`` (eq. 4 as written)
    grows with the area; ``mean`` changes with neither."""
    torch.manual_seed(0)
    student, teacher = torch.randn(2, 8, 6, 4, 4), torch.randn(2, 8, 6, 4, 4)
    lengths = torch.tensor([6, 6])
    big = [torch.nn.functional.interpolate(x, scale_factor=(1, 2, 2), mode="nearest") for x in (student, teacher)]
    longer = [torch.cat([x, x], dim=2) for x in (student, teacher)]
    loss = {r: cosine_feature_loss(student, teacher, lengths, r) for r in ("mean", "time", "sum")}
    assert cosine_feature_loss(*big, lengths, "time") == pytest.approx(float(loss["time"]), rel=1e-5)
    assert cosine_feature_loss(*big, lengths, "sum") == pytest.approx(4 * float(loss["sum"]), rel=1e-5)
    assert cosine_feature_loss(*big, lengths, "mean") == pytest.approx(float(loss["mean"]), rel=1e-5)
    assert cosine_feature_loss(*longer, 2 * lengths, "time") == pytest.approx(2 * float(loss["time"]), rel=1e-5)
    assert cosine_feature_loss(*longer, 2 * lengths, "mean") == pytest.approx(float(loss["mean"]), rel=1e-5)
    with pytest.raises(ValueError, match="reduction"):
        cosine_feature_loss(student, teacher, lengths, "max")
