"""CRKD's hybrid loss terms: multi-level CTC, feature MSE and KLD."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from signdistill.losses.crkd import feature_mse_loss, kld_loss, multilevel_ctc_loss
from signdistill.losses.ctc import ctc_loss

VOCAB = 6


pytestmark = pytest.mark.usefixtures("one_thread")


def test_multilevel_ctc_is_the_sum_of_the_levels() -> None:
    torch.manual_seed(0)
    levels = [torch.randn(2, t, VOCAB).log_softmax(-1) for t in (8, 4, 2)]
    lengths = [torch.tensor([8, 6]), torch.tensor([4, 3]), torch.tensor([2, 1])]
    labels, label_lengths = torch.tensor([1, 2, 3]), torch.tensor([2, 1])
    total = multilevel_ctc_loss(levels, lengths, labels, label_lengths)
    expected = sum(ctc_loss(lp, n, labels, label_lengths) for lp, n in zip(levels, lengths, strict=True))
    assert torch.allclose(total, expected)
    assert torch.allclose(multilevel_ctc_loss(levels[:1], lengths[:1], labels, label_lengths),
                          ctc_loss(levels[0], lengths[0], labels, label_lengths))
    with pytest.raises(ValueError, match="one length tensor per level"):
        multilevel_ctc_loss(levels, lengths[:2], labels, label_lengths)


def test_feature_mse_counts_valid_frames_only() -> None:
    torch.manual_seed(0)
    s, t = torch.randn(2, 5, 4, 3, 3), torch.randn(2, 5, 4, 3, 3)
    lengths = torch.tensor([5, 2])
    expected = torch.cat([(s[0] - t[0]).pow(2).flatten(), (s[1, :2] - t[1, :2]).pow(2).flatten()]).mean()
    assert torch.allclose(feature_mse_loss(s, t, lengths), expected)
    moved = t.clone()
    moved[1, 2:] += 100.0  # padding frames
    assert torch.allclose(feature_mse_loss(s, moved, lengths), expected)
    assert feature_mse_loss(s, s.clone(), lengths) == 0
    with pytest.raises(ValueError, match="frame features differ"):
        feature_mse_loss(s, t[..., :2, :2], lengths)


def test_kld_is_teacher_to_student_kl_per_frame() -> None:
    torch.manual_seed(0)
    s, t = torch.randn(2, 4, VOCAB).log_softmax(-1), torch.randn(2, 4, VOCAB).log_softmax(-1)
    lengths = torch.tensor([4, 3])
    valid = torch.arange(4)[None] < lengths[:, None]
    reference = F.kl_div(s[valid], t[valid], reduction="batchmean", log_target=True)
    assert torch.allclose(kld_loss(s, t, lengths), reference)
    assert torch.allclose(kld_loss(s, t, lengths, reduction="element"), reference / VOCAB)
    assert kld_loss(s, t, lengths) > 0 and kld_loss(s, s.clone(), lengths).abs() < 1e-6
    warm = kld_loss(s, t, lengths, temperature=4.0)
    soft_s, soft_t = (s[valid] / 4).log_softmax(-1), (t[valid] / 4).log_softmax(-1)
    assert torch.allclose(warm, 16 * F.kl_div(soft_s, soft_t, reduction="batchmean", log_target=True))
    with pytest.raises(ValueError, match="unknown reduction"):
        kld_loss(s, t, lengths, reduction="sum")
