"""Parameters and MACs against hand counts, latency bookkeeping, the model registry and the profile CLI."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn
from typer.testing import CliRunner

from signdistill.console import app
from signdistill.metrics.efficiency import count_macs, profile_model
from signdistill.models.registry import MODEL_BUILDERS, RECOGNIZERS, register_model


class Tiny(nn.Module):
    """conv 3->8 (3x3, pad 1) on 10x10, BN, ReLU, linear 800->5; then a Conv1d over a 16-step sequence."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, kernel_size=3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.fc = nn.Linear(8 * 10 * 10, 5)
        self.temporal = nn.Conv1d(5, 4, kernel_size=5, bias=False)

    def forward(self, x: torch.Tensor, seq: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.fc(torch.relu(self.bn(self.conv(x))).flatten(1)), self.temporal(seq)


def test_params_and_macs_match_hand_count() -> None:
    model, x, seq = Tiny(), torch.randn(2, 3, 10, 10), torch.randn(1, 5, 16)
    params = (8 * 3 * 3 * 3 + 8) + (2 * 8) + (800 * 5 + 5) + (4 * 5 * 5)
    conv_macs = 2 * 8 * 10 * 10 * (3 * 3 * 3)  # batch 2 x out channels x positions x kernel volume
    fc_macs = 2 * 800 * 5
    temporal_macs = 4 * 12 * 5 * 5  # 12 output steps, bias-free
    stats = profile_model(model, (x, seq), warmup=1, repeats=3)
    assert stats["params"] == params == 4_345
    assert stats["macs"] == conv_macs + fc_macs + temporal_macs == 52_400
    assert stats["gmacs"] == pytest.approx(52_400 / 1e9)
    assert len(stats["latency_runs_s"]) == 3 and stats["latency_s"] > 0 and stats["device"] == "cpu"


def test_profile_restores_training_mode_and_counts_frozen_parameters() -> None:
    model = Tiny()
    model.conv.requires_grad_(False)
    model.train()
    stats = profile_model(model, (torch.randn(1, 3, 10, 10), torch.randn(1, 5, 16)), warmup=0, repeats=1)
    assert model.training and stats["params"] == 4_345


def test_resnet18_frames_builder() -> None:
    model, (clips,) = MODEL_BUILDERS["resnet18_frames"](resolution=32, frames=3, vocab=1296)
    assert clips.shape == (1, 3, 3, 32, 32)
    # torchvision resnet18 has 11,689,512 parameters with a 1000-way head; swap in 1296 classes
    assert sum(p.numel() for p in model.parameters()) == 11_689_512 - (512 * 1000 + 1000) + (512 * 1296 + 1296)
    assert model.eval()(clips).shape == (3, 1, 1296)
    per_frame = count_macs(model, (clips[:, :1],))
    assert count_macs(model, (clips,)) == 3 * per_frame
    gray, (clip1,) = MODEL_BUILDERS["resnet18_frames"](resolution=32, frames=1, vocab=10, channels=1)
    assert clip1.shape[2] == 1 and gray.backbone.conv1.in_channels == 1


def test_every_recogniser_has_a_profile_builder() -> None:
    """One registry: every kind a run can train is also a network ``signdistill profile`` builds."""
    assert set(RECOGNIZERS) <= set(MODEL_BUILDERS)


def test_register_model() -> None:
    @register_model("test_tiny")
    def build(resolution: int = 10, frames: int = 1, vocab: int = 5, **_: object) -> tuple[nn.Module, tuple]:
        return nn.Linear(resolution, vocab), (torch.randn(frames, resolution),)

    try:
        model, inputs = MODEL_BUILDERS["test_tiny"](resolution=4, frames=2, vocab=3)
        assert count_macs(model, inputs) == 2 * 4 * 3
    finally:
        del MODEL_BUILDERS["test_tiny"]


def test_profile_cli() -> None:
    runner = CliRunner()
    args = ["profile", "resnet18_frames", "--resolution", "32", "--frames", "2", "--vocab", "10",
            "--warmup", "0", "--repeats", "1", "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    model, inputs = MODEL_BUILDERS["resnet18_frames"](resolution=32, frames=2, vocab=10)
    assert out["params"] == sum(p.numel() for p in model.parameters())
    assert out["params"] == 11_176_512 + 512 * 10 + 10  # torchvision's ResNet-18 without its ImageNet head, + ours
    assert out["macs"] == count_macs(model, inputs) == 2 * 37_016_576  # two 32 px frames
    assert out["gmacs"] == pytest.approx(out["macs"] / 1e9)
    assert out["latency_s"] > 0 and out["channels"] is None
    gray = runner.invoke(app, [*args[:-1], "--channels", "1"])
    assert gray.exit_code == 0 and "channels: 1" in gray.stdout
    assert runner.invoke(app, ["profile", "nope"]).exit_code == 2
    meta = runner.invoke(app, ["profile", "baseline", "--resolution", "32", "--frames", "8", "--vocab", "5",
                               "--channels", "4", "--device", "meta"])
    assert meta.exit_code == 2 and "--device cpu" in meta.output  # the baseline packs its sequences by value


def test_lstm_macs_are_counted_from_shapes_and_real_steps() -> None:
    lstm = torch.nn.LSTM(3, 5, num_layers=2, bidirectional=True, batch_first=True)
    per_step = 2 * 4 * 5 * (3 + 5) + 2 * 4 * 5 * (10 + 5)  # two directions, four gates, input + recurrent
    assert count_macs(lstm, (torch.randn(2, 7, 3),)) == per_step * 14
    packed = torch.nn.utils.rnn.pack_padded_sequence(torch.randn(2, 7, 3), torch.tensor([7, 4]), batch_first=True)
    assert count_macs(lstm, (packed,)) == per_step * 11  # padding steps are not run
