"""CRKD's high-resolution teacher, MSTNet-style (Zhu et al. [15]), and Fig. 1's "method 1" student.

MSTNet [15] is three parts: frame-wise features (ResNet + two FC layers), time-wise features (multi-scale
temporal blocks, then transformer layers) and a multi-level CTC loss "with no parameter increase". CRKD
swaps the ResNet-34 for a ResNet-50 (section III), so the frame-level feature map is N = 2048 x 7 x 7 at
224 px: the map LRINet's output is built to match.

Reading used here (the MSTNet paper's exact block sizes are not in the CRKD paper):

* frame-wise part: ResNet trunk -> feature map ``[B, T, N, 7, 7]`` (kept: CRKD's MSE distils it) ->
  global average pool -> FC (N -> hidden) + ReLU -> FC (hidden -> hidden) + ReLU.
* MST-block: parallel temporal convolutions with kernels 3, 5, 7 ("same" padding, the channels split
  between the branches), concatenated, BN, ReLU, a residual connection, then a temporal max-pool of 2.
  Two blocks: T -> T/2 -> T/4, the same ``lengths // 2 // 2`` as LRINet, so teacher and student outputs
  align frame for frame for the KL term. "Same" padding keeps that bookkeeping exact.
* transformer: ``transformer_layers`` encoder layers with sinusoidal positions and a padding mask.
* multi-level CTC: one classifier shared by the levels (hence no parameter increase) applied to the
  frame-wise features (T), MST-block 1 (T/2), MST-block 2 (T/4) and the transformer output (T/4);
  the last ``ctc_levels`` of them are trained (4 for PHOENIX, 2 for CSL), the last one decodes.
* padding frames are zeroed before every temporal operation, so a sample's outputs do not depend on
  how much the batch pads it.

Which features the MSE compares: the 7x7 maps *before* pooling. CRKD's whole point (Fig. 1, contribution 1)
is to keep the student's frame-level feature *scale* equal to the teacher's instead of recovering it by
upsampling; after global pooling every map size gives the same N-vector and that question would not
arise. Table I also ends LRINet's frame-level extractor at ``T x N x 7 x 7``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models import resnet34, resnet50

from signdistill.losses.crkd import multilevel_forward
from signdistill.models.baseline import normalise_video, temporal_length
from signdistill.models.lrinet import FEATURE_SIZE, frame_mask, stochastic_gradient_stop
from signdistill.models.resnet import ResNet18Frames

BACKBONES = ("resnet18", "resnet34", "resnet50")


class TorchvisionFrames(nn.Module):
    """torchvision's ResNet-34 / ResNet-50 trunk (module names kept, so ImageNet state dicts load)."""

    def __init__(self, name: str, weights: str | Path | None = None) -> None:
        super().__init__()
        net = {"resnet34": resnet34, "resnet50": resnet50}[name](weights=None)
        self.conv1, self.bn1, self.relu, self.maxpool = net.conv1, net.bn1, net.relu, net.maxpool
        self.layer1, self.layer2, self.layer3, self.layer4 = net.layer1, net.layer2, net.layer3, net.layer4
        self.out_channels = net.fc.in_features
        if weights:
            state = torch.load(weights, map_location="cpu", weights_only=True)
            self.load_state_dict({k: v for k, v in state.items() if not k.startswith("fc.")})

    def feature_map(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))


@dataclass
class MSTNetConfig:
    """Teacher hyper-parameters; the defaults are CRKD's PHOENIX teacher (ResNet-50, 4-level CTC)."""

    num_classes: int
    backbone: str = "resnet50"  # resnet50 (paper: N = 2048) | resnet34 (MSTNet's own) | resnet18 (width option)
    width: int = 64  # ResNet-18 base width (resnet18 only): N = 8 x width
    weights: str | None = None  # local ImageNet state dict
    hidden: int = 1024  # frame-wise FC width = temporal channels
    kernels: tuple[int, ...] = (3, 5, 7)  # MST-block temporal receptive fields
    transformer_layers: int = 2
    heads: int = 8
    dropout: float = 0.1
    ctc_levels: int = 4  # 4 for PHOENIX, 2 for CSL
    gradient_stop: float = 0.0  # share of frames whose backbone gradient is stopped in training ([14])
    upsample_to: int | None = None  # method 1 only: the teacher's map size (None: FEATURE_SIZE, 7 at 224 px)


class MSTBlock(nn.Module):
    """Multi-scale temporal block on ``[B, C, T]``: parallel 'same' convs (3/5/7), BN, ReLU, residual, pool 2."""

    def __init__(self, channels: int, kernels: tuple[int, ...]) -> None:
        super().__init__()
        if any(k % 2 == 0 for k in kernels):
            raise ValueError(f"MST-block kernels must be odd ('same' padding), got {kernels}")
        share = [channels // len(kernels)] * len(kernels)
        share[-1] += channels - sum(share)
        self.branches = nn.ModuleList(nn.Conv1d(channels, c, k, padding=k // 2, bias=False)
                                      for c, k in zip(share, kernels, strict=True))
        self.bn = nn.BatchNorm1d(channels)
        self.pool = nn.MaxPool1d(2)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = x * mask[:, None, :]
        y = F.relu(self.bn(torch.cat([branch(x) for branch in self.branches], dim=1)))
        return self.pool(y + x)


class TransformerLayer(nn.Module):
    """Post-norm transformer encoder layer (as ``nn.TransformerEncoderLayer``) from plain linears + SDPA.

    Written out because ``nn.TransformerEncoderLayer`` in eval mode takes a fused fast path that torch's
    ``FlopCounterMode`` does not see, which would drop the transformer from the teacher's MAC count.
    """

    def __init__(self, channels: int, heads: int, dropout: float) -> None:
        super().__init__()
        if channels % heads:
            raise ValueError(f"hidden {channels} is not divisible by {heads} heads")
        self.heads, self.dropout = heads, dropout
        self.qkv, self.proj = nn.Linear(channels, 3 * channels), nn.Linear(channels, channels)
        self.ff = nn.Sequential(nn.Linear(channels, 2 * channels), nn.ReLU(inplace=True), nn.Dropout(dropout),
                                nn.Linear(2 * channels, channels))
        self.norm1, self.norm2, self.drop = nn.LayerNorm(channels), nn.LayerNorm(channels), nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """``x`` ``[B, T, C]``; ``valid`` ``[B, T]`` bool, the keys each query may attend to."""
        b, t, c = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        a = F.scaled_dot_product_attention(q, k, v, attn_mask=valid[:, None, None, :],
                                           dropout_p=self.dropout if self.training else 0.0)
        x = self.norm1(x + self.drop(self.proj(a.transpose(1, 2).reshape(b, t, c))))
        return self.norm2(x + self.drop(self.ff(x)))


def sinusoidal_positions(steps: int, channels: int, device: torch.device) -> torch.Tensor:
    """``[steps, channels]`` fixed sine/cosine positions (Vaswani et al.)."""
    pos = torch.arange(steps, device=device, dtype=torch.float32)[:, None]
    freq = torch.exp(torch.arange(0, channels, 2, device=device, dtype=torch.float32) * (-math.log(1e4) / channels))
    table = torch.zeros(steps, channels, device=device)
    table[:, 0::2] = torch.sin(pos * freq)
    table[:, 1::2] = torch.cos(pos * freq[: channels // 2])
    return table


class MSTNet(nn.Module):
    """High-resolution CSLR teacher: ResNet frames -> 2 FC -> 2 MST-blocks -> transformer -> shared classifier.

    ``forward(batch)`` follows the model contract (``losses["ctc"]`` = multi-level CTC sum); ``encode``
    also returns the frame-level ``features`` ``[B, T, N, h, w]`` (7x7 at 224 px) and per-level log-probs.
    """

    temporal_stride = 4  # input frames per output step (decoding.windows aligns windows on it)

    def __init__(self, config: MSTNetConfig) -> None:
        super().__init__()
        self.config = config
        if config.backbone not in BACKBONES:
            raise ValueError(f"unknown backbone {config.backbone!r} ({' | '.join(BACKBONES)})")
        if not 1 <= config.ctc_levels <= 4:
            raise ValueError(f"ctc_levels must be 1..4, got {config.ctc_levels}")
        self.frames = (ResNet18Frames(config.width, config.weights) if config.backbone == "resnet18"
                       else TorchvisionFrames(config.backbone, config.weights))
        h = config.hidden
        self.frame_fc = nn.Sequential(nn.Linear(self.frames.out_channels, h), nn.ReLU(inplace=True),
                                      nn.Linear(h, h), nn.ReLU(inplace=True))
        self.mst_blocks = nn.ModuleList([MSTBlock(h, config.kernels), MSTBlock(h, config.kernels)])
        self.transformer = nn.ModuleList(TransformerLayer(h, config.heads, config.dropout)
                                         for _ in range(config.transformer_layers))
        self.classifier = nn.Linear(h, config.num_classes)

    @property
    def out_channels(self) -> int:
        """N: channels of the frame-level feature map."""
        return self.frames.out_channels

    def feature_map(self, video: torch.Tensor) -> torch.Tensor:
        """uint8 ``[B, T, H, W, 3]`` -> ResNet maps ``[B, T, N, h, w]``."""
        x = normalise_video(video)  # contiguous NCHW (see normalise_video: a oneDNN heap corruption otherwise)
        b, t = x.shape[:2]
        stop = self.config.gradient_stop if self.training else 0.0
        return stochastic_gradient_stop(self.frames.feature_map, x.flatten(0, 1), stop).unflatten(0, (b, t))

    def distillation_features(self, maps: torch.Tensor) -> torch.Tensor:
        """What the MSE compares: the map itself (the teacher's scale). ``MSTNetUpsampled`` overrides it."""
        return maps

    def encode(self, video: torch.Tensor, lengths: torch.Tensor, levels: bool = False) -> dict:
        """``log_probs`` ``[B, T//4, V]``, ``out_lengths``, ``features``; with ``levels`` the per-level outputs."""
        maps = self.feature_map(video)
        lengths = lengths.to(maps.device)
        x = self.frame_fc(maps.mean(dim=(3, 4)))  # [B, T, hidden]
        taps = [(x, lengths)]
        seq, steps = x.transpose(1, 2), lengths
        for block in self.mst_blocks:
            seq = block(seq, frame_mask(steps, seq.shape[2]))
            steps = temporal_length(steps, "P2")
            taps.append((seq.transpose(1, 2), steps))
        seq = seq.transpose(1, 2)
        seq = seq + sinusoidal_positions(seq.shape[1], seq.shape[2], seq.device).to(seq.dtype)
        out_lengths = steps.clamp(min=1)  # a sample shorter than 4 frames still keeps one step to attend to
        valid = frame_mask(out_lengths, seq.shape[1]) > 0
        for layer in self.transformer:
            seq = layer(seq, valid)
        out = {"log_probs": self.classifier(seq).log_softmax(-1), "out_lengths": out_lengths,
               "features": self.distillation_features(maps), "feature_lengths": lengths}
        if levels:
            chosen = taps[-(self.config.ctc_levels - 1):] if self.config.ctc_levels > 1 else []
            out["level_log_probs"] = [self.classifier(t).log_softmax(-1) for t, _ in chosen] + [out["log_probs"]]
            out["level_lengths"] = [n.clamp(min=1) for _, n in chosen] + [out_lengths]
        return out

    def forward(self, batch: dict) -> dict:
        return multilevel_forward(self, batch)


class MSTNetUpsampled(MSTNet):
    """Fig. 1's "method 1": the teacher's architecture on low-resolution frames, its maps upsampled for the MSE.

    "Take a low-resolution frame as input, keep the frame-level feature extractor unchanged, upsample the
    extracted frame-level features, and then perform feature distillation with the frame-level features
    output by the teacher network." A 72 px frame gives a 3x3 ResNet map; it is resized bilinearly to the
    teacher's map size (``upsample_to``, 7x7 at 224 px) for the MSE only. The recognition path pools the
    original map: the upsampling serves the distillation, and a global average pool of a bilinear upsample
    adds nothing.
    """

    def __init__(self, config: MSTNetConfig) -> None:
        super().__init__(config)
        self.feature_size = config.upsample_to or FEATURE_SIZE

    def distillation_features(self, maps: torch.Tensor) -> torch.Tensor:
        size = (self.feature_size, self.feature_size)
        if maps.shape[-2:] == size:
            return maps
        up = F.interpolate(maps.flatten(0, 1), size=size, mode="bilinear", align_corners=False)
        return up.unflatten(0, maps.shape[:2])


def _teacher_config(vocab: int, channels: int) -> MSTNetConfig:
    """N = 2048: ResNet-50 (CRKD's teacher); other N: ResNet-18 of width N / 8 (512: the standard one), hidden N."""
    if channels == 2048:
        return MSTNetConfig(num_classes=vocab)
    if channels % 8:
        raise ValueError(f"channels {channels}: 2048 (ResNet-50) or a multiple of 8 (ResNet-18 width N/8)")
    return MSTNetConfig(num_classes=vocab, backbone="resnet18", width=channels // 8, hidden=channels)


def _clip(batch: int, frames: int, resolution: int) -> tuple[dict]:
    video = torch.randint(0, 255, (batch, frames, resolution, resolution, 3), dtype=torch.uint8)
    return ({"video": video, "lengths": torch.full((batch,), frames)},)


def build_mstnet(resolution: int = 224, frames: int = 200, vocab: int = 1296, channels: int = 2048,
                 batch: int = 1) -> tuple[nn.Module, tuple]:
    """The CRKD teacher; ``channels`` is N (2048: ResNet-50, see ``_teacher_config``)."""
    return MSTNet(_teacher_config(vocab, channels)), _clip(batch, frames, resolution)


def build_mstnet_method1(resolution: int = 72, frames: int = 200, vocab: int = 1296, channels: int = 2048,
                         batch: int = 1) -> tuple[nn.Module, tuple]:
    """Fig. 1's method 1: the teacher's network on ``resolution`` px frames, maps upsampled to 7x7."""
    return MSTNetUpsampled(_teacher_config(vocab, channels)), _clip(batch, frames, resolution)
