"""SignKD's video encoder: the first four blocks of S3D, in torchvision's module layout.

The encoder's ``features`` is torchvision's ``S3D.features[0:13]`` (same module classes and indices), so
at ``width=1.0`` and ``in_channels=3`` a torchvision Kinetics-400 ``s3d`` state dict from a local file
loads after dropping the keys of layers 13-15 and the classifier (``load_kinetics_s3d``).

**The four blocks** (SignKD sec. 3.1 uses "the first four blocks of S3D" and pools the last one to
T/4 x 832). We cut S3D where its resolution changes, the split TwoStream-SLR's S3D backbone uses
(``features`` indices 0 / 1-3 / 4-6 / 7-12), giving, for a T x H x W clip:

====== ======================================================== ======== ==============
block  torchvision ``features`` layers                            channels T x H x W
====== ======================================================== ======== ==============
1      0 (separable conv 7, stride 2)                            64       T/2 x H/2 x W/2
2      1-3 (max-pool 1x3x3/2, conv 1x1x1, separable conv 3)      192      T/2 x H/4 x W/4
3      4-6 (max-pool 1x3x3/2, Mixed_3b, Mixed_3c)                480      T/2 x H/8 x W/8
4      7-12 (max-pool 3x3x3/2, Mixed_4b ... Mixed_4f)            832      T/4 x H/16 x W/16
====== ======================================================== ======== ==============

Temporal sizes are exact integers: ceil(T/2) after block 1 (conv k7 s2 p3) and ceil(ceil(T/2)/2) =
ceil(T/4) after block 4 (pool k3 s2 p1), see ``s3d_block_lengths``. Block 4 averaged over H and W is
the T/4 x 832 sequence the heads take (``S3DEncoder.forward``).

**Width multiplier.** Every convolution's output channels are scaled by ``width`` (rounded, at least 1)
and each inception block's input is the sum of the previous block's scaled branches, so the depth and
the structure stay S3D's; ``width=0.25`` gives blocks of 16 / 48 / 120 / 208 channels.

**Other inputs.** ``in_channels`` replaces the first convolution's input (79 keypoint heatmaps, 2 flow
channels), as in the paper ("the same as the video encoder except for the first convolutional layer").
Kinetics weights initialise such a layer TSN-style: the RGB kernel averaged over its 3 channels and
copied to every input channel.

**Residual inception (optional, not in S3D).** ``residual=True`` adds a shortcut around every inception
block (identity, or a 1x1x1 convolution with batch norm where the channels change), as ResNet does. Trained
from scratch on the embedded corpus, plain S3D's train CTC stalls on the gloss prior while the residual one
leaves it (docs/methods/signkd.md); the paper starts from Kinetics weights, which load only without the
shortcuts.

**Batch norm.** torchvision's S3D uses eps 1e-3 and momentum 1e-3 (a TensorFlow port); we keep eps and
default the momentum to PyTorch's 0.1 because the embedded runs train from scratch for a few hundred
steps, where running statistics at momentum 1e-3 would still be near their initial values at
evaluation time. The momentum is a buffer-free setting, so the state dict is unchanged.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import torch
from torch import nn
from torchvision.models.video.s3d import SepInceptionBlock3D, TemporalSeparableConv
from torchvision.ops.misc import Conv3dNormActivation

# Last torchvision ``features`` index of each of the four blocks (see the module docstring).
S3D_BLOCK_ENDS = (0, 3, 6, 12)
S3D_BLOCK_CHANNELS = (64, 192, 480, 832)  # at width 1.0
# Kinetics-400 statistics of torchvision's S3D weights (its VideoClassification preset).
KINETICS_MEAN = (0.43216, 0.394666, 0.37645)
KINETICS_STD = (0.22803, 0.22145, 0.216989)

# torchvision's inception configurations of Mixed_3b ... Mixed_4f: (b0, b1_mid, b1, b2_mid, b2, b3).
_INCEPTION_3 = ((64, 96, 128, 16, 32, 32), (128, 128, 192, 32, 96, 64))
_INCEPTION_4 = ((192, 96, 208, 16, 48, 64), (160, 112, 224, 24, 64, 64), (128, 128, 256, 24, 64, 64),
                (112, 144, 288, 32, 64, 64), (256, 160, 320, 32, 128, 128))


def s3d_block_lengths(lengths: torch.Tensor, block: int) -> torch.Tensor:
    """Valid temporal length after S3D block ``block`` (1-4) of clips with ``lengths`` frames (integers).

    Block 1 halves time with ceiling (conv k7 s2 p3), blocks 2-3 keep it, block 4 halves it again
    (pool k3 s2 p1): ceil(T/2) for blocks 1-3 and ceil(T/4) for block 4.
    """
    if block not in (1, 2, 3, 4):
        raise ValueError(f"S3D block must be 1-4, got {block}")
    out = torch.div(lengths + 1, 2, rounding_mode="floor")
    return torch.div(out + 1, 2, rounding_mode="floor") if block == 4 else out


def scaled(channels: int, width: float) -> int:
    """Channel count of an S3D layer at ``width`` (rounded, at least 1)."""
    return max(1, round(channels * width))


def normalise_video_kinetics(video: torch.Tensor) -> torch.Tensor:
    """uint8 [B, T, H, W, 3] -> float [B, 3, T, H, W] with the Kinetics statistics of the S3D weights."""
    x = video.permute(0, 4, 1, 2, 3).float().div(255.0)
    mean = torch.tensor(KINETICS_MEAN, device=x.device).view(1, 3, 1, 1, 1)
    std = torch.tensor(KINETICS_STD, device=x.device).view(1, 3, 1, 1, 1)
    return (x - mean) / std


class S3DEncoder(nn.Module):
    """First four S3D blocks: [B, C_in, T, H, W] -> the four block outputs and the pooled [B, T/4, C4]."""

    def __init__(self, in_channels: int = 3, width: float = 1.0, bn_momentum: float = 0.1,
                 residual: bool = False) -> None:
        super().__init__()
        self.in_channels, self.width, self.residual = in_channels, width, residual
        norm = partial(nn.BatchNorm3d, eps=0.001, momentum=bn_momentum)

        def inception(in_planes: int, config: tuple[int, ...]) -> tuple[nn.Module, int]:
            b0, b1_mid, b1, b2_mid, b2, b3 = (scaled(c, width) for c in config)
            block = SepInceptionBlock3D(in_planes, b0, b1_mid, b1, b2_mid, b2, b3, norm)
            out_planes = b0 + b1 + b2 + b3
            return (ResidualInception(block, in_planes, out_planes, norm) if residual else block), out_planes

        c1, c2 = scaled(64, width), scaled(192, width)
        layers: list[nn.Module] = [
            TemporalSeparableConv(in_channels, c1, 7, 2, 3, norm),
            nn.MaxPool3d(kernel_size=(1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1)),
            Conv3dNormActivation(c1, c1, kernel_size=1, stride=1, norm_layer=norm),
            TemporalSeparableConv(c1, c2, 3, 1, 1, norm),
            nn.MaxPool3d(kernel_size=(1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1)),
        ]
        channels = [c1, c2]
        planes = c2
        for config in _INCEPTION_3:
            block, planes = inception(planes, config)
            layers.append(block)
        channels.append(planes)
        layers.append(nn.MaxPool3d(kernel_size=(3, 3, 3), stride=(2, 2, 2), padding=(1, 1, 1)))
        for config in _INCEPTION_4:
            block, planes = inception(planes, config)
            layers.append(block)
        channels.append(planes)
        self.features = nn.Sequential(*layers)
        self.block_channels: tuple[int, ...] = tuple(channels)

    @property
    def out_channels(self) -> int:
        return self.block_channels[-1]

    def forward_block(self, block: int, x: torch.Tensor) -> torch.Tensor:
        """Run block ``block`` (1-4) on the previous block's output (or the input for block 1)."""
        start = 0 if block == 1 else S3D_BLOCK_ENDS[block - 2] + 1
        for layer in self.features[start:S3D_BLOCK_ENDS[block - 1] + 1]:
            x = layer(x)
        return x

    def forward(self, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        """[B, C_in, T, H, W] -> ([block 1..4 outputs, each [B, C_i, T_i, H_i, W_i]], [B, T/4, C4])."""
        blocks = []
        for block in range(1, 5):
            x = self.forward_block(block, x)
            blocks.append(x)
        return blocks, pool_sequence(x)


class ResidualInception(nn.Module):
    """An inception block plus a shortcut: identity, or 1x1x1 convolution + batch norm where channels change."""

    def __init__(self, block: nn.Module, in_planes: int, out_planes: int, norm: type[nn.Module] | partial) -> None:
        super().__init__()
        self.block = block
        self.shortcut = nn.Identity() if in_planes == out_planes else nn.Sequential(
            nn.Conv3d(in_planes, out_planes, 1, bias=False), norm(out_planes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x) + self.shortcut(x)


def pool_sequence(x: torch.Tensor) -> torch.Tensor:
    """[B, C, T, H, W] -> [B, T, C]: spatial average, the T/4 x 832 sequence of the paper's heads."""
    return x.mean(dim=(3, 4)).transpose(1, 2)


def kinetics_encoder_state(state: dict[str, torch.Tensor], in_channels: int = 3) -> dict[str, torch.Tensor]:
    """A torchvision ``s3d`` state dict -> the encoder's (``features.0`` ... ``features.12``).

    For ``in_channels != 3`` the first kernel is averaged over its RGB channels and copied to each
    input channel (TSN's cross-modality initialisation).
    """
    last = S3D_BLOCK_ENDS[-1]
    out = {k: v for k, v in state.items()
           if k.startswith("features.") and int(k.split(".")[1]) <= last}
    first = "features.0.0.0.weight"
    if in_channels != 3 and first in out:
        out[first] = out[first].mean(dim=1, keepdim=True).repeat(1, in_channels, 1, 1, 1)
    return out


def load_kinetics_s3d(encoder: S3DEncoder, source: str | Path | dict[str, torch.Tensor]) -> None:
    """Load torchvision Kinetics-400 S3D weights (a local file or a state dict) into a width-1.0 encoder."""
    if encoder.width != 1.0 or encoder.residual:
        raise ValueError(f"Kinetics S3D weights need width 1.0 and no residual shortcuts, the encoder has width "
                         f"{encoder.width}, residual {encoder.residual}")
    if not isinstance(source, dict) and not Path(source).is_file():
        raise FileNotFoundError(
            f"Kinetics-400 S3D weights not found at {source}: save torchvision's "
            "S3D_Weights.KINETICS400_V1 state dict there (s3d-d76dad2f.pth, from a machine with internet: "
            "torchvision.models.video.s3d(weights='KINETICS400_V1').state_dict()), or set model.weights: null")
    state = source if isinstance(source, dict) else torch.load(source, map_location="cpu", weights_only=True)
    encoder.load_state_dict(kinetics_encoder_state(state, encoder.in_channels))
