"""Model efficiency: parameters, multiply-accumulates and measured latency for one clip.

MACs come from torch's own ``FlopCounterMode``, which counts the matrix products and convolutions
(2 FLOPs per multiply-accumulate) and ignores element-wise work such as normalisation and activations,
the convention of the papers' "GFlops" columns (CRKD's are MACs): MACs = FLOPs / 2.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

ModelBuilder = Callable[..., tuple[nn.Module, tuple]]


def count_parameters(model: nn.Module) -> int:
    """All parameters (trainable or frozen): what a checkpoint stores and what the papers count."""
    return sum(p.numel() for p in model.parameters())


def count_macs(model: nn.Module, example_inputs: tuple) -> int:
    """Multiply-accumulates of one forward pass on ``example_inputs`` (FLOPs / 2, see module docstring)."""
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(*example_inputs)
    return counter.get_total_flops() // 2


def _sync(device: torch.device) -> None:
    """Wait for queued kernels so wall-clock time covers the work, not just its launch."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _input_device(example_inputs: tuple) -> torch.device:
    for value in example_inputs:
        if isinstance(value, torch.Tensor):
            return value.device
    return torch.device("cpu")


def measure_latency(model: nn.Module, example_inputs: tuple, warmup: int = 2, repeats: int = 5) -> list[float]:
    """Seconds per forward pass, ``repeats`` times after ``warmup`` untimed passes (allocator, autotune)."""
    device = _input_device(example_inputs)
    times = []
    with torch.inference_mode():
        for i in range(warmup + repeats):
            _sync(device)
            start = time.perf_counter()
            model(*example_inputs)
            _sync(device)
            if i >= warmup:
                times.append(time.perf_counter() - start)
    return times


def profile_model(model: nn.Module, example_inputs: tuple, warmup: int = 2, repeats: int = 5) -> dict[str, Any]:
    """Parameters, MACs and median latency of ``model(*example_inputs)`` on the inputs' device.

    The model is measured in eval mode (dropout off, batch-norm on running statistics, as at inference)
    and put back in the mode it came in.
    """
    was_training = model.training
    model.eval()
    try:
        macs = count_macs(model, example_inputs)
        times = measure_latency(model, example_inputs, warmup, repeats) if repeats > 0 else []
    finally:
        model.train(was_training)
    params = count_parameters(model)
    return {
        "params": params,
        "params_m": params / 1e6,
        "macs": macs,
        "gmacs": macs / 1e9,
        "latency_s": statistics.median(times) if times else None,
        "latency_runs_s": times,
        "device": str(_input_device(example_inputs)),
    }


class FrameClassifier(nn.Module):
    """A 2D image network applied to every frame of ``[B, T, C, H, W]`` clips, giving ``[T, B, V]`` logits.

    The time-first output is what the CTC loss and the decoders take.
    """

    def __init__(self, backbone: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        batch, frames = clips.shape[:2]
        logits = self.backbone(clips.flatten(0, 1))
        return logits.view(batch, frames, -1).transpose(0, 1)


def build_resnet18_frames(resolution: int = 112, frames: int = 200, vocab: int = 1296, channels: int = 3,
                          batch: int = 1) -> tuple[nn.Module, tuple]:
    """Stand-in until the baseline exists: torchvision ResNet-18 per frame, ``vocab`` outputs, random init."""
    from torchvision.models import resnet18

    net = resnet18(weights=None, num_classes=vocab)
    if channels != 3:
        net.conv1 = nn.Conv2d(channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
    clips = torch.randn(batch, frames, channels, resolution, resolution)
    return FrameClassifier(net), (clips,)


MODEL_BUILDERS: dict[str, ModelBuilder] = {"resnet18_frames": build_resnet18_frames}


def register_model(name: str) -> Callable[[ModelBuilder], ModelBuilder]:
    """Decorator adding a builder ``(resolution, frames, vocab, **kw) -> (model, example_inputs)``."""
    def wrap(builder: ModelBuilder) -> ModelBuilder:
        MODEL_BUILDERS[name] = builder
        return builder
    return wrap


@register_model("baseline")
def build_baseline(resolution: int = 224, frames: int = 200, vocab: int = 1296, channels: int = 64,
                   batch: int = 1) -> tuple[nn.Module, tuple]:
    """The VAC/SMKD baseline (ResNet-18 -> K5-P2-K5-P2 -> BiLSTM); ``channels`` is the ResNet base width."""
    from signdistill.models.baseline import BaselineConfig, BaselineRecognizer

    model = BaselineRecognizer(BaselineConfig(num_classes=vocab, width=channels))
    video = torch.randint(0, 255, (batch, frames, resolution, resolution, 3), dtype=torch.uint8)
    return model, ({"video": video, "lengths": torch.full((batch,), frames)},)


import signdistill.models.ctca  # noqa: E402, F401  (registers "ctca", and "smkd" that it imports)
import signdistill.models.signkd  # noqa: E402, F401  (registers "signkd_teacher", "signkd_student")
from signdistill.models import lrinet, mstnet  # noqa: E402, F401  (registers "lrinet", "mstnet", "mstnet_method1")
