"""CRKD's MSTNet-style teacher and Fig. 1's method-1 student: shapes, lengths, levels, padding, MACs, backbones."""

from __future__ import annotations

import pytest
import torch

from signdistill.losses.ctc import ctc_loss
from signdistill.metrics.efficiency import count_macs, count_parameters
from signdistill.models.mstnet import MSTNet, MSTNetConfig, MSTNetUpsampled, TorchvisionFrames
from signdistill.models.registry import MODEL_BUILDERS

pytestmark = pytest.mark.usefixtures("one_thread")


def config(**kw: object) -> MSTNetConfig:
    """ResNet-18 of width 4 (N = 32), 16 temporal channels: the CPU-sized teacher."""
    return MSTNetConfig(**({"num_classes": 9, "backbone": "resnet18", "width": 4, "hidden": 16, "heads": 2} | kw))


def clip(lengths: list[int], resolution: int = 224, frames: int | None = None) -> dict:
    t = frames or max(lengths)
    video = torch.randint(0, 255, (len(lengths), t, resolution, resolution, 3), dtype=torch.uint8,
                          generator=torch.Generator().manual_seed(2))
    return {"video": video, "lengths": torch.tensor(lengths)}


def test_teacher_shapes_levels_and_lengths() -> None:
    torch.manual_seed(0)
    model = MSTNet(config(ctc_levels=4))
    batch = clip([9, 6]) | {"labels": torch.tensor([1, 2, 3]), "label_lengths": torch.tensor([2, 1])}
    out = model(batch)
    assert out["features"].shape == (2, 9, 32, 7, 7)  # 224 px -> the 7x7 map LRINet matches
    assert out["log_probs"].shape == (2, 2, 9) and out["out_lengths"].tolist() == [2, 1]
    assert [lp.shape[1] for lp in out["level_log_probs"]] == [9, 4, 2, 2]
    assert [n.tolist() for n in out["level_lengths"]] == [[9, 6], [4, 3], [2, 1], [2, 1]]
    expected = sum(ctc_loss(lp, n, batch["labels"], batch["label_lengths"])
                   for lp, n in zip(out["level_log_probs"], out["level_lengths"], strict=True))
    assert torch.isfinite(out["losses"]["ctc"]) and torch.allclose(out["losses"]["ctc"], expected)
    out["losses"]["ctc"].backward()
    assert model.frames.conv1.weight.grad is not None and torch.isfinite(model.frames.conv1.weight.grad).all()
    csl = MSTNet(config(ctc_levels=2))(batch)
    assert [lp.shape[1] for lp in csl["level_log_probs"]] == [2, 2]  # CSL: MST-block 2 and the transformer


def test_teacher_output_does_not_depend_on_batch_padding() -> None:
    torch.manual_seed(0)
    model = MSTNet(config()).eval()
    alone = clip([9], resolution=64)
    padded = torch.cat([alone["video"], torch.full((1, 4, 64, 64, 3), 255, dtype=torch.uint8)], dim=1)
    with torch.no_grad():
        a = model.encode(alone["video"], alone["lengths"])
        b = model.encode(padded, alone["lengths"])
    assert torch.allclose(a["log_probs"], b["log_probs"][:, :2], atol=1e-5)


def test_method1_upsamples_only_the_distilled_map() -> None:
    torch.manual_seed(0)
    teacher_net = MSTNet(config()).eval()
    method1 = MSTNetUpsampled(config()).eval()
    method1.load_state_dict(teacher_net.state_dict())
    batch = clip([4], resolution=72)
    with torch.no_grad():
        plain = teacher_net.encode(batch["video"], batch["lengths"])
        up = method1.encode(batch["video"], batch["lengths"])
    assert plain["features"].shape[-2:] == (3, 3)  # 72 px through five stride-2 stages
    assert up["features"].shape == (1, 4, 32, 7, 7)
    assert torch.equal(plain["log_probs"], up["log_probs"])  # recognition path untouched
    assert count_parameters(method1) == count_parameters(teacher_net)


def test_macs_count_the_transformer_on_cpu_and_meta() -> None:
    cfg = config(transformer_layers=1)
    torch.manual_seed(0)
    model = MSTNet(cfg).eval()
    batch = clip([8], resolution=32)
    real = count_macs(model, (batch,))
    meta = count_macs(MSTNet(cfg).to("meta").eval(), ({k: v.to("meta") for k, v in batch.items()},))
    without = count_macs(MSTNet(config(transformer_layers=0)).eval(), (batch,))
    d, steps = 16, 2  # one layer on 2 steps: qkv + proj + 2 FFN linears (8 d^2 per step), QK^T and AV
    assert real == meta == without + steps * 8 * d * d + 2 * steps * steps * d


def test_paper_scale_teacher_is_resnet50_at_7x7() -> None:
    with torch.device("meta"):
        frames = TorchvisionFrames("resnet50")
        model, _ = MODEL_BUILDERS["mstnet"](resolution=224, frames=8, vocab=1296, channels=2048)
        maps = frames.feature_map(torch.empty(1, 3, 224, 224))
    assert maps.shape == (1, 2048, 7, 7)
    assert count_parameters(frames) == 25_557_032 - (2048 * 1000 + 1000)  # torchvision resnet50 minus its fc
    assert model.out_channels == 2048 and model.config.ctc_levels == 4
    with pytest.raises(ValueError, match="unknown backbone"):
        MSTNet(config(backbone="vgg"))
