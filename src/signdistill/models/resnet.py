"""ResNet-18 frame encoders built from torchvision's blocks, with a width option for CPU configs.

At ``width=64`` the module tree is exactly torchvision's ``resnet18`` (``conv1``, ``bn1``, ``layer1-4``),
so ImageNet weights from a local file load with ``load_state_dict``; smaller widths keep the same depth
and structure for the embedded CPU budget.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from torchvision.models.resnet import BasicBlock, conv1x1, resnet18


def _layer(inplanes: int, planes: int, blocks: int, stride: int) -> nn.Sequential:
    downsample = None
    if stride != 1 or inplanes != planes:
        downsample = nn.Sequential(conv1x1(inplanes, planes, stride), nn.BatchNorm2d(planes))
    layers = [BasicBlock(inplanes, planes, stride, downsample)]
    layers += [BasicBlock(planes, planes) for _ in range(blocks - 1)]
    return nn.Sequential(*layers)


class ResNet18Frames(nn.Module):
    """Per-frame ResNet-18 trunk: [N, 3, H, W] -> [N, 8 * width] after global average pooling."""

    def __init__(self, width: int = 64, weights: str | Path | None = None) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = _layer(width, width, 2, 1)
        self.layer2 = _layer(width, 2 * width, 2, 2)
        self.layer3 = _layer(2 * width, 4 * width, 2, 2)
        self.layer4 = _layer(4 * width, 8 * width, 2, 2)
        self.out_channels = 8 * width
        if weights:
            state = torch.load(weights, map_location="cpu", weights_only=True)
            state = {k: v for k, v in state.items() if not k.startswith("fc.")}
            self.load_state_dict(state)

    def feature_map(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.feature_map(x).mean(dim=(2, 3))


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
    """torchvision ResNet-18 on every frame with ``vocab`` outputs, random init: the cost of a plain per-frame 2D
    CNN with no temporal model, the reference point ``signdistill profile`` sets the recognisers against."""
    net = resnet18(weights=None, num_classes=vocab)
    if channels != 3:
        net.conv1 = nn.Conv2d(channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
    clips = torch.randn(batch, frames, channels, resolution, resolution)
    return FrameClassifier(net), (clips,)
