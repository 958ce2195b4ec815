"""SignKD's distiller: the frozen teacher, stage subsets, the output loss, the student alone at inference."""

from __future__ import annotations

import pytest
import torch

from signdistill.distillation.signkd import SignKDDistiller
from signdistill.losses.signkd import HKD_LOSS_WEIGHTS
from signdistill.models.signkd import (
    SignKDStudent,
    SignKDStudentConfig,
    SignKDTeacher,
    SignKDTeacherConfig,
    example_batch,
)

VOCAB = 6


@pytest.fixture(scope="module")
def batch() -> dict:
    torch.manual_seed(0)
    raw = example_batch(resolution=32, frames=16, batch=2)
    return {**raw, "lengths": torch.tensor([16, 11]), "labels": torch.tensor([1, 2, 3, 4]),
            "label_lengths": torch.tensor([2, 2])}


def distiller(**kw) -> SignKDDistiller:
    torch.manual_seed(0)
    teacher = SignKDTeacher(SignKDTeacherConfig(vocab_size=VOCAB, width=0.125, head_hidden=16))
    student = SignKDStudent(SignKDStudentConfig(vocab_size=VOCAB, width=0.0625, head_hidden=8))
    return SignKDDistiller(teacher, student, **kw)


def test_all_terms_finite_and_backward(batch: dict) -> None:
    model = distiller().train()
    out = model(batch)
    assert set(out["losses"]) == {"ctc", "kd_feature", "kd_output"}
    assert all(torch.isfinite(v) for v in out["losses"].values())
    assert out["log_probs"].shape == out["teacher_log_probs"].shape == (2, 4, VOCAB)
    sum(HKD_LOSS_WEIGHTS[k] * v for k, v in out["losses"].items()).backward()
    assert all(p.grad is not None for p in model.adapters.parameters())
    assert model.student.encoder.features[0][0][0].weight.grad is not None


def test_teacher_is_frozen(batch: dict) -> None:
    model = distiller()
    model.train()
    assert model.student.training and not model.teacher.training
    assert not any(p.requires_grad for p in model.teacher.parameters())
    stats = {k: v.clone() for k, v in model.teacher.state_dict().items()}
    out = model(batch)
    sum(out["losses"].values()).backward()
    assert all(p.grad is None for p in model.teacher.parameters())
    assert all(torch.equal(stats[k], v) for k, v in model.teacher.state_dict().items())  # BN stats too
    optimised = {id(p) for p in model.parameters() if p.requires_grad}
    assert not optimised & {id(p) for p in model.teacher.parameters()}


@pytest.mark.parametrize(("stages", "output_loss"), [((), False), (("S1",), True), (("S2", "S4"), False)])
def test_feature_stage_subsets_and_output_switch(stages: tuple, output_loss: bool, batch: dict) -> None:
    model = distiller(feature_stages=stages, output_loss=output_loss, adapter="conv3d")
    assert set(model.adapters) == set(stages)
    adapter = next(iter(model.adapters.values()), None)
    if adapter is not None:
        assert adapter.kernel_size == (3, 3, 3)
    out = model(batch)
    expected = {"ctc"} | ({"kd_feature"} if stages else set()) | ({"kd_output"} if output_loss else set())
    assert set(out["losses"]) == expected


def test_student_alone_at_inference(batch: dict) -> None:
    model = distiller().eval()
    rgb_only = {k: batch[k] for k in ("video", "lengths")}
    with torch.no_grad():
        out = model(rgb_only)  # neither heatmaps nor flow needed
        scored = model({**rgb_only, "labels": batch["labels"], "label_lengths": batch["label_lengths"]})
    assert "losses" not in out and out["log_probs"].shape == (2, 4, VOCAB)
    assert set(scored["losses"]) == {"ctc"}
    with pytest.raises(KeyError, match="heatmaps"):
        model.train()({**rgb_only, "labels": batch["labels"], "label_lengths": batch["label_lengths"]})


def test_bottleneck_adapters_map_like_the_papers_at_a_fraction_of_the_macs(batch: dict) -> None:
    """The cheaper adapter (1x1x1, 3x3x3, 1x1x1, the default): the output shape and receptive field of eq. 3's
    3x3x3, trained by L_F, at far fewer MACs; an unknown adapter or distill option is an error, not a silent default."""
    from signdistill.distillation.signkd import feature_adapter
    from signdistill.metrics.efficiency import count_macs
    from signdistill.training.recipes import build_distiller
    from signdistill.training.spec import DistillSpec

    x = torch.randn(1, 16, 4, 8, 8)
    full, bottleneck = feature_adapter(16, 40, "conv3d"), feature_adapter(16, 40, "bottleneck")
    assert full(x).shape == bottleneck(x).shape == (1, 40, 4, 8, 8)
    assert count_macs(bottleneck, (x,)) * 10 < count_macs(full, (x,))
    impulse = torch.zeros_like(x)
    impulse[..., 2, 4, 4] = 1.0
    with torch.no_grad():
        for layer in bottleneck:
            torch.nn.init.ones_(layer.weight), torch.nn.init.zeros_(layer.bias)
        reach = bottleneck(impulse)[0, 0].nonzero()
    assert (reach.amax(0) - reach.amin(0)).tolist() == [2, 2, 2]  # 3x3x3, as the paper's layer
    model = distiller(adapter="bottleneck").train()
    sum(model(batch)["losses"].values()).backward()
    assert all(p.grad is not None for p in model.adapters.parameters())
    with pytest.raises(ValueError, match="adapter"):
        feature_adapter(16, 40, "mlp")
    teacher, student = model.teacher, model.student
    with pytest.raises(ValueError, match="adaptor"):
        build_distiller(teacher, student, DistillSpec.from_params({"method": "signkd", "adaptor": "bottleneck"}))
