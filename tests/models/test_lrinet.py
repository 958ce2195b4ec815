"""LRINet against Table I / II / VIII of the CRKD paper: kernel rule, 7x7 maps, lengths, TSCM, parameters and MACs."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
import torch
from torch import nn
from typer.testing import CliRunner

from signdistill.console import app
from signdistill.losses.ctc import ctc_loss
from signdistill.metrics.efficiency import count_macs, count_parameters
from signdistill.models import lrinet
from signdistill.models.lrinet import (
    LRINet,
    LRINetConfig,
    first_bottleneck_kernel,
    stochastic_gradient_stop,
    temporal_superposition_crossover,
)
from signdistill.models.registry import MODEL_BUILDERS

# Table VIII: resolution -> (parameters in M, "GFlops" = GMACs) at N = 2048, 1296 classes, 200 frames
TABLE_VIII = {56: (10.4, 170.4), 72: (10.5, 257.0), 88: (10.8, 366.3), 104: (11.2, 498.1)}


pytestmark = pytest.mark.usefixtures("one_thread")


def tiny(resolution: int = 56, **kw: object) -> LRINet:
    torch.manual_seed(0)
    return LRINet(LRINetConfig(num_classes=7, resolution=resolution, channels=16, width=4, **kw))


def clip(lengths: list[int], resolution: int = 56, frames: int | None = None) -> dict:
    t = frames or max(lengths)
    video = torch.randint(0, 255, (len(lengths), t, resolution, resolution, 3), dtype=torch.uint8,
                          generator=torch.Generator().manual_seed(1))
    return {"video": video, "lengths": torch.tensor(lengths)}


def meta_model(resolution: int) -> tuple[nn.Module, tuple]:
    """Table VIII's network on the meta device: shapes only, so 500 GMACs are counted in a blink."""
    with torch.device("meta"):
        model, _ = MODEL_BUILDERS["lrinet"](resolution=resolution, frames=200, vocab=1296, channels=2048)
    video = torch.empty(1, 200, resolution, resolution, 3, dtype=torch.uint8, device="meta")
    return model.eval(), ({"video": video, "lengths": torch.full((1,), 200, device="meta")},)


def test_first_bottleneck_kernel_is_table_ii() -> None:
    assert [first_bottleneck_kernel(r) for r in (56, 72, 88, 104)] == [1, 3, 5, 7]
    assert first_bottleneck_kernel(64) == 2  # r/8 - 6 is an integer: an even kernel still gives 7x7
    assert first_bottleneck_kernel(40, feature_size=4) == 2  # general rule k = r/8 + 1 - feature_size
    with pytest.raises(ValueError, match="not a multiple of 8"):
        first_bottleneck_kernel(60)
    with pytest.raises(ValueError, match="too small"):
        first_bottleneck_kernel(48)  # 48/8 - 6 = 0


@pytest.mark.parametrize("resolution", [56, 72, 88, 104])
def test_frame_features_are_7x7_at_every_resolution(resolution: int) -> None:
    model = tiny(resolution).eval()
    assert model.bottlenecks[0].spatial[0].kernel_size == (first_bottleneck_kernel(resolution),) * 2
    with torch.no_grad():
        out = model.encode(clip([4], resolution)["video"], torch.tensor([4]))
    assert out["features"].shape == (1, 4, 16, 7, 7)
    with pytest.raises(ValueError, match="at least 4 frames"):
        model.encode(clip([3], resolution)["video"], torch.tensor([3]))


def test_wrong_input_resolution_is_refused() -> None:
    with pytest.raises(ValueError, match="built for 56x56"):
        tiny(56)(clip([4], 72))


def test_forward_contract_lengths_and_multilevel_ctc() -> None:
    model = tiny(ctc_levels=4)
    batch = clip([10, 7]) | {"labels": torch.tensor([1, 2]), "label_lengths": torch.tensor([1, 1])}
    out = model(batch)
    assert out["log_probs"].shape == (2, 2, 7)  # 10 frames -> 5 -> 2
    assert out["out_lengths"].tolist() == [2, 1]  # 10 // 4, 7 // 4: integer bookkeeping
    assert out["out_lengths"].dtype == torch.int64
    assert torch.allclose(out["log_probs"].exp().sum(-1), torch.ones(2, 2))
    assert [lp.shape[1] for lp in out["level_log_probs"]] == [10, 10, 5, 2]
    assert [n.tolist() for n in out["level_lengths"]] == [[10, 7], [10, 7], [5, 3], [2, 1]]
    assert out["level_log_probs"][-1] is out["log_probs"]
    expected = sum(ctc_loss(lp, n, batch["labels"], batch["label_lengths"])
                   for lp, n in zip(out["level_log_probs"], out["level_lengths"], strict=True))
    assert torch.isfinite(out["losses"]["ctc"]) and torch.allclose(out["losses"]["ctc"], expected)
    out["losses"]["ctc"].backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
    assert model.classifier.weight.grad is not None and model.stem[0][0][0].weight.grad is not None


def test_ctc_levels_pick_the_last_levels_and_inference_skips_them() -> None:
    model = tiny(ctc_levels=2)
    batch = clip([8]) | {"labels": torch.tensor([1]), "label_lengths": torch.tensor([1])}
    assert [lp.shape[1] for lp in model(batch)["level_log_probs"]] == [4, 2]
    plain = tiny(ctc_levels=1)(batch)
    assert torch.allclose(plain["losses"]["ctc"], ctc_loss(plain["log_probs"], plain["out_lengths"],
                                                           batch["labels"], batch["label_lengths"]))
    assert "level_log_probs" not in model(clip([8])) and "losses" not in model(clip([8]))


def test_a_sample_does_not_depend_on_batch_padding() -> None:
    model = tiny().eval()
    alone = clip([9])
    padded = {"video": torch.cat([alone["video"], torch.full((1, 3, 56, 56, 3), 200, dtype=torch.uint8)], 1),
              "lengths": torch.tensor([9])}
    with torch.no_grad():
        a, b = model.encode(alone["video"], alone["lengths"]), model.encode(padded["video"], padded["lengths"])
    assert a["out_lengths"].tolist() == b["out_lengths"].tolist() == [2]
    assert torch.allclose(a["log_probs"], b["log_probs"][:, :2], atol=1e-5)
    assert torch.equal(a["features"], b["features"][:, :9])


def test_tscm_shifts_channel_groups_across_time() -> None:
    x = torch.arange(1, 4, dtype=torch.float32).view(1, 3, 1, 1, 1).expand(1, 3, 8, 1, 1)  # frame t holds t+1
    y = temporal_superposition_crossover(x, fold_div=4)[0, :, :, 0, 0]  # [T, C]
    assert y[:, :2].tolist() == [[0, 0], [1, 1], [2, 2]]  # from the previous frame, zero at the start
    assert y[:, 2:4].tolist() == [[2, 2], [3, 3], [0, 0]]  # from the next frame, zero at the end
    assert torch.equal(y[:, 4:], x[0, :, 4:, 0, 0])  # the rest stays


@pytest.mark.parametrize("resolution", sorted(TABLE_VIII))
def test_table_viii_parameters(resolution: int) -> None:
    k = first_bottleneck_kernel(resolution)
    n, fc = 2048, 2048 * 1296 + 1296
    stem = (3 * 64 + 64 * 64 + 64 * 128 + 128 * 128 + 128 * 256 + 3 * 256 * 256) * 3 + 256 * 256 * 9 + 256 * n
    stem_bn = 2 * (64 + 64 + 128 + 128 + 256 * 5 + n)

    def bottleneck(m: int, kernel: int = 3) -> int:  # 1x1, kxk, 1x1 convs and their three BNs
        return 2 * n * m + m * m * kernel * kernel + 2 * (2 * m + n)

    blocks = bottleneck(128, k) + bottleneck(128) + bottleneck(256) + bottleneck(128) * 2 + bottleneck(256)
    model, _ = meta_model(resolution)
    params = count_parameters(model)
    assert params == stem + stem_bn + blocks + fc
    assert params / 1e6 == pytest.approx(TABLE_VIII[resolution][0], rel=0.02)


@pytest.mark.parametrize("resolution", sorted(TABLE_VIII))
def test_table_viii_macs_on_meta(resolution: int) -> None:
    """Conv + FC MACs within 3 %; adding ptflops' element-wise charges (BN 2, ReLU 1, pool 1 per element)
    lands within 0.2 %, which locates the 0.9 % residual (see the lrinet module docstring)."""
    model, inputs = meta_model(resolution)
    gmacs = count_macs(model, inputs) / 1e9
    assert gmacs == pytest.approx(TABLE_VIII[resolution][1], rel=0.03)
    elementwise = {"n": 0}

    def charge(per: int, use_input: bool) -> object:
        def hook(_: nn.Module, args: tuple, out: torch.Tensor) -> None:
            elementwise["n"] += per * (args[0] if use_input else out).numel()
        return hook

    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d | nn.ReLU | nn.MaxPool2d):
            module.register_forward_hook(charge(2 if isinstance(module, nn.BatchNorm2d) else 1,
                                                isinstance(module, nn.MaxPool2d)))
    with torch.no_grad():
        model(*inputs)
    assert gmacs + elementwise["n"] / 1e9 == pytest.approx(TABLE_VIII[resolution][1], rel=0.002)


def test_profile_cli_on_meta() -> None:
    result = CliRunner().invoke(app, ["profile", "lrinet", "--resolution", "72", "--frames", "200", "--vocab", "1296",
                                      "--channels", "2048", "--json", "--device", "meta"])
    assert result.exit_code == 0, result.output
    stats = json.loads(result.output)
    assert stats["params"] == 10_544_208 and stats["latency_s"] is None
    assert stats["gmacs"] == pytest.approx(257.0, rel=0.03)


def test_meta_count_equals_a_real_count() -> None:
    model = tiny(72).eval()
    batch = clip([6, 4], 72)
    meta = LRINet(model.config).to("meta").eval()
    meta_batch = {k: v.to("meta") for k, v in batch.items()}
    assert count_macs(model, (batch,)) == count_macs(meta, (meta_batch,)) > 0


def test_stochastic_gradient_stop_keeps_values_and_stops_some_gradients(monkeypatch: pytest.MonkeyPatch) -> None:
    torch.manual_seed(0)
    layer, x = nn.Linear(3, 2), torch.randn(64, 3, requires_grad=True)
    out = stochastic_gradient_stop(layer, x, stop=0.5)
    assert torch.allclose(out, layer(x))
    out.sum().backward()
    tracked = (x.grad.abs().sum(1) > 0).sum().item()
    assert 1 <= tracked < 64
    x.grad = None
    stochastic_gradient_stop(layer, x, stop=0.0).sum().backward()
    assert (x.grad.abs().sum(1) > 0).all()  # nothing stopped
    x.grad = None
    stochastic_gradient_stop(layer, x, stop=1.0).sum().backward()
    assert (x.grad.abs().sum(1) > 0).sum().item() == 1  # all stopped but the one frame kept learning
    stops: list[float] = []

    def spy(fn: Callable, frames: torch.Tensor, stop: float) -> torch.Tensor:
        stops.append(stop)
        return stochastic_gradient_stop(fn, frames, stop)

    monkeypatch.setattr(lrinet, "stochastic_gradient_stop", spy)
    model = tiny(gradient_stop=0.5).train()
    batch = clip([6]) | {"labels": torch.tensor([1]), "label_lengths": torch.tensor([1])}
    model(batch)["losses"]["ctc"].backward()
    assert model.stem[0][0][0].weight.grad.abs().sum() > 0
    with torch.no_grad():
        model.eval()(batch)
    assert stops == [0.5, 0.0]  # the configured share in training, none at evaluation
