"""SignKD teacher and student: fusion variants and stages, stream subsets, heads, SPN, losses, registry."""

from __future__ import annotations

import math

import pytest
import torch

from signdistill.losses.signkd import frame_kl
from signdistill.models.signkd import (
    SIGNKD_TEACHER_LOSS_WEIGHTS,
    SignKDStudent,
    SignKDStudentConfig,
    SignKDTeacher,
    SignKDTeacherConfig,
    example_batch,
    late_ensemble,
    parse_stages,
)
from signdistill.models.signkd_fusion import MLPFusion
from signdistill.models.signkd_heads import SignPyramid

WIDTH = 0.125  # S3D blocks of 8 / 24 / 60 / 104 channels
VOCAB = 6


def labelled(batch: dict) -> dict:
    """Two clips (the second padded: 13 of 16 frames) with two glosses each."""
    return {**batch, "lengths": torch.tensor([16, 13]), "labels": torch.tensor([1, 2, 3, 4]),
            "label_lengths": torch.tensor([2, 2])}


@pytest.fixture(scope="module")
def batch() -> dict:
    torch.manual_seed(0)
    return labelled(example_batch(resolution=32, frames=16, batch=2))  # heatmaps and flow at 16 x 16


def teacher(**kw) -> SignKDTeacher:
    torch.manual_seed(0)
    return SignKDTeacher(SignKDTeacherConfig(vocab_size=VOCAB, width=WIDTH, head_hidden=16, **kw))


def test_paper_loss_weights() -> None:
    assert SIGNKD_TEACHER_LOSS_WEIGHTS == {"ctc": 1.0, "spn": 0.2, "sd": 1.0}


@pytest.mark.parametrize("fusion", ["mlp", "attention", "conv", "none"])
def test_fusion_variants_train(fusion: str, batch: dict) -> None:
    model = teacher(fusion=fusion)
    out = model(batch)
    assert set(out["losses"]) == {"ctc", "spn", "sd"}
    assert all(torch.isfinite(v) for v in out["losses"].values())
    assert out["log_probs"].shape == (2, 4, VOCAB) and out["out_lengths"].tolist() == [4, 4]
    assert set(out["head_log_probs"]) == {"rgb", "heatmap", "flow", "joint"}
    # Stage features f_t^i live on the RGB grid (heatmap/flow features are upsampled to it).
    assert [tuple(f.shape) for f in out["stage_features"]] == [
        (2, 8, 8, 16, 16), (2, 24, 8, 8, 8), (2, 60, 8, 4, 4), (2, 104, 4, 2, 2)]
    sum(out["losses"].values()).backward()
    if fusion != "none":
        assert all(p.grad is not None for p in model.fusions.parameters())
    assert model.encoders["flow"].features[0][0][0].weight.grad is not None


def test_mlp_fusion_is_residual_on_each_streams_grid() -> None:
    fusion = MLPFusion(channels=4, num_streams=3)
    rgb, heat, flow = torch.randn(1, 4, 2, 8, 8), torch.randn(1, 4, 2, 4, 4), torch.randn(1, 4, 2, 4, 4)
    (rgb2, heat2, flow2), fused = fusion([rgb, heat, flow])
    assert fused.shape == rgb.shape and heat2.shape == heat.shape and flow2.shape == flow.shape
    torch.testing.assert_close(rgb2 - rgb, fused)
    torch.testing.assert_close(heat2 - heat, torch.nn.functional.avg_pool3d(fused, (1, 2, 2)))
    assert len(fusion.mlp) == 5 and sum(isinstance(m, torch.nn.Linear) for m in fusion.mlp) == 3


@pytest.mark.parametrize("stages", [("M1",), ("M2", "M4"), (1, 2, 3)])
def test_fusion_stage_subsets(stages: tuple, batch: dict) -> None:
    model = teacher(fusion_stages=stages)
    assert set(model.fusions) == {f"M{i}" for i in parse_stages(stages, "M")}
    with torch.no_grad():
        out = model({k: v for k, v in batch.items() if k not in ("labels", "label_lengths")})
    assert "losses" not in out and len(out["stage_features"]) == 4


@pytest.mark.parametrize("streams", [("rgb",), ("heatmap",), ("flow",), ("rgb", "heatmap"), ("flow", "heatmap")])
def test_stream_subsets(streams: tuple, batch: dict) -> None:
    model = teacher(streams=streams)
    needed = {"lengths", "labels", "label_lengths", *model.input_keys}
    out = model({k: v for k, v in batch.items() if k in needed})  # only the enabled streams' inputs
    heads = set(model.streams) | ({"joint"} if len(streams) > 1 else set())
    assert set(out["head_log_probs"]) == heads
    assert set(out["losses"]) == ({"ctc", "spn", "sd"} if len(streams) > 1 else {"ctc", "spn"})
    assert not model.fusions if len(streams) == 1 else set(model.fusions) == {"M1", "M2", "M3", "M4"}
    sum(out["losses"].values()).backward()


def test_late_ensemble_is_log_of_mean_probabilities(batch: dict) -> None:
    model = teacher(spn=False).eval()
    with torch.no_grad():
        out = model(batch)
    probs = torch.stack([lp.exp() for lp in out["head_log_probs"].values()]).mean(0)
    torch.testing.assert_close(out["log_probs"], probs.log())
    torch.testing.assert_close(out["log_probs"].exp().sum(-1), torch.ones(2, 4))
    assert "spn" not in out["losses"]


def test_self_distillation_and_frame_kl() -> None:
    a = torch.randn(2, 5, 4).log_softmax(-1)
    assert frame_kl(a, a, torch.tensor([5, 3])).abs() < 1e-6
    b = torch.randn(2, 5, 4).log_softmax(-1)
    b_padded = b.clone()
    b_padded[1, 3:] = torch.randn(2, 4).log_softmax(-1)  # padding steps must not count
    lengths = torch.tensor([5, 3])
    torch.testing.assert_close(frame_kl(a, b, lengths), frame_kl(a, b_padded, lengths))
    expected = (a.exp() * (a - b)).sum(-1)[0].mean()
    torch.testing.assert_close(frame_kl(a[:1], b[:1], lengths[:1]), expected)
    one = late_ensemble([a])
    torch.testing.assert_close(one, a)
    torch.testing.assert_close(late_ensemble([a, b]), ((a.exp() + b.exp()) / 2).log())
    assert math.isclose(float(late_ensemble([a, a]).exp().sum(-1).mean()), 1.0, rel_tol=1e-5)


def test_odd_sizes_keep_integer_bookkeeping() -> None:
    """RGB 36 -> 18/9/5/3 while the 18-pixel streams go 9/5/3/2: fusion and SPN resample, T = 13 -> 7 -> 4."""
    torch.manual_seed(0)
    raw = example_batch(resolution=36, frames=13, batch=1)
    out = teacher()({**raw, "labels": torch.tensor([1, 2]), "label_lengths": torch.tensor([2])})
    assert out["log_probs"].shape[1] == 4 and out["out_lengths"].tolist() == [4]
    assert out["stage_features"][0].shape[2:] == (7, 18, 18) and out["stage_features"][3].shape[2:] == (4, 3, 3)
    assert all(torch.isfinite(v) for v in out["losses"].values())


def test_sign_pyramid_levels_at_half_length() -> None:
    """Blocks 2-4 on odd grids (T 7/7/4, H 9/5/3): two top-down levels, each its own head at T/2."""
    spn = SignPyramid((24, 60, 104), hidden=16, vocab_size=VOCAB)
    f2, f3, f4 = torch.randn(2, 24, 7, 9, 9), torch.randn(2, 60, 7, 5, 5), torch.randn(2, 104, 4, 3, 3)
    levels = spn(f2, f3, f4)
    assert [tuple(x.shape) for x in levels] == [(2, 7, VOCAB), (2, 7, VOCAB)]
    sum(x.sum() for x in levels).backward()
    assert spn.up4.conv_t.weight.grad is not None and spn.up3.conv_s.weight.grad is not None


def test_inputs_are_checked(batch: dict) -> None:
    model = teacher(streams=("rgb", "flow"))
    with pytest.raises(KeyError, match="flow"):
        model({k: v for k, v in batch.items() if k != "flow"})
    with pytest.raises(ValueError, match="same number of frames"):
        model({**batch, "flow": batch["flow"][:, :-1]})
    with pytest.raises(ValueError, match="streams"):
        teacher(streams=("rgb", "depth"))
    with pytest.raises(ValueError, match="fusion"):
        teacher(fusion="gated")
    with pytest.raises(ValueError, match="M1..M4"):
        parse_stages(["M5"], "M")


def test_student_is_rgb_only(batch: dict) -> None:
    torch.manual_seed(0)
    student = SignKDStudent(SignKDStudentConfig(vocab_size=VOCAB, width=WIDTH, head_hidden=16))
    out = student({k: batch[k] for k in ("video", "lengths", "labels", "label_lengths")})
    assert out["log_probs"].shape == (2, 4, VOCAB) and out["out_lengths"].tolist() == [4, 4]
    assert [f.shape[1] for f in out["stage_features"]] == [8, 24, 60, 104] == list(student.stage_channels)
    assert set(out["losses"]) == {"ctc"} and torch.isfinite(out["losses"]["ctc"])
    out["losses"]["ctc"].backward()
    assert not hasattr(student, "fusions")


def test_registered_profile_builders() -> None:
    from signdistill.metrics.efficiency import count_macs, count_parameters
    from signdistill.models.registry import MODEL_BUILDERS

    sizes = {}
    for name in ("signkd_teacher", "signkd_student"):
        model, inputs = MODEL_BUILDERS[name](resolution=32, frames=8, vocab=VOCAB, channels=8)
        model.eval()
        sizes[name] = (count_parameters(model), count_macs(model, inputs))
        assert inputs[0]["video"].shape == (1, 8, 32, 32, 3)
    assert sizes["signkd_teacher"][0] > 3 * sizes["signkd_student"][0]
    assert sizes["signkd_teacher"][1] > sizes["signkd_student"][1] > 0
