"""CRKD's frozen-teacher distiller (MSTNet teacher at 224 px, LRINet student at 56 px)."""

from __future__ import annotations

import copy

import pytest
import torch

from signdistill.distillation.crkd import CRKDConfig, CRKDDistiller
from signdistill.losses.crkd import CRKD_LOSS_WEIGHTS
from signdistill.models.lrinet import LRINet, LRINetConfig
from signdistill.models.mstnet import MSTNet, MSTNetConfig
from signdistill.training.trainer import weighted_loss

VOCAB = 6


pytestmark = pytest.mark.usefixtures("one_thread")


def teacher() -> MSTNet:
    """ResNet-18 width 4 -> N = 32 channels at 7x7 for 224 px frames."""
    torch.manual_seed(0)
    return MSTNet(MSTNetConfig(num_classes=VOCAB, backbone="resnet18", width=4, hidden=16, heads=2))


def student() -> LRINet:
    torch.manual_seed(1)
    return LRINet(LRINetConfig(num_classes=VOCAB, resolution=56, channels=32, width=4))


def batch(lengths: tuple[int, ...] = (8, 5), teacher_video: bool = True, labels: bool = True) -> dict:
    g = torch.Generator().manual_seed(3)
    t = max(lengths)
    out = {"video": torch.randint(0, 255, (len(lengths), t, 56, 56, 3), dtype=torch.uint8, generator=g),
           "lengths": torch.tensor(lengths)}
    if teacher_video:
        out["video_teacher"] = torch.randint(0, 255, (len(lengths), t, 224, 224, 3), dtype=torch.uint8, generator=g)
    if labels:
        out |= {"labels": torch.tensor([1, 2, 3]), "label_lengths": torch.tensor([2, 1])}
    return out


def test_distiller_trains_the_student_and_keeps_the_teacher_frozen() -> None:
    model = CRKDDistiller(teacher(), student())
    model.train()
    assert not model.teacher.training and model.student.training
    assert not any(p.requires_grad for p in model.teacher.parameters())
    teacher_state = copy.deepcopy(model.teacher.state_dict())
    out = model(batch())
    assert set(out["losses"]) == {"ctc", "mse", "kld"}
    assert all(torch.isfinite(v) and v > 0 for v in out["losses"].values())
    assert out["log_probs"].shape == (2, 2, VOCAB) and out["out_lengths"].tolist() == [2, 1]
    weighted_loss(out["losses"], CRKD_LOSS_WEIGHTS["phoenix"]).backward()
    assert all(p.grad is None for p in model.teacher.parameters())
    grads = [p.grad for p in model.student.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    after = model.teacher.state_dict()  # BN running statistics included: eval mode kept them
    assert all(torch.equal(after[k], v) for k, v in teacher_state.items())


def test_distillation_terms_vanish_when_student_equals_teacher() -> None:
    net = teacher()
    model = CRKDDistiller(net, copy.deepcopy(net)).eval()
    same = batch() | {"video": batch()["video_teacher"]}  # one resolution for both
    losses = model(same)["losses"]
    assert losses["mse"] == 0
    assert losses["kld"].abs() < 1e-6
    assert torch.isfinite(losses["ctc"])


def test_evaluation_needs_only_the_student_video() -> None:
    model = CRKDDistiller(teacher(), student()).eval()
    with torch.no_grad():
        plain = model(batch(teacher_video=False, labels=False))
        scored = model(batch(teacher_video=False))
    assert set(plain) == {"log_probs", "out_lengths"}
    assert set(scored["losses"]) == {"ctc"}
    with pytest.raises(KeyError, match="video_teacher"):
        model.train()(batch(teacher_video=False))


def test_ablation_switches_and_shape_checks() -> None:
    ctc_only = CRKDDistiller(teacher(), student(), CRKDConfig(mse=False, kld=False)).train()
    assert set(ctc_only(batch(teacher_video=False))["losses"]) == {"ctc"}
    mse_only = CRKDDistiller(teacher(), student(), CRKDConfig(kld=False)).train()
    assert set(mse_only(batch())["losses"]) == {"ctc", "mse"}
    short = batch()
    short["video_teacher"] = short["video_teacher"][:, :6]
    with pytest.raises(ValueError, match="frames"):
        mse_only(short)
