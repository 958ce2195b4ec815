"""LRINet, the low-resolution input network of CRKD (Zhu et al., Table I and II, section III-A and III-C).

Layout (Table I, ``r`` the input resolution, ``w`` the stem width, 64 in the paper, ``N`` the teacher's
frame-feature channels, 2048 for a ResNet-50 teacher)::

    frame-level feature extractor F_s (per frame)                         spatial size
      conv 1x3 3->w, conv 3x1 w->w, conv 1x3 w->2w, conv 3x1 2w->2w         r
      max-pool 2x2                                                           r/2
      conv 1x3 2w->4w, conv 3x1 4w->4w                                       r/2
      max-pool 2x2                                                           r/4
      conv 1x3 4w->4w, conv 3x1 4w->4w                                       r/4
      max-pool 2x2                                                           r/8
      conv 3x3 4w->4w, conv 1x1 4w->N                                        r/8
      Bottleneck1 (N->2w->N, middle conv k x k, padding 0, k = r/8 - 6)      7
      Bottleneck2 (N->2w->N), Bottleneck3 (N->4w->N)                         7   <- frame-level features
    temporal feature extractor F_t (TSCM + 2D hybrid convolution)
      ResBottleneck1 (N->2w->N) on T frames, temporal max-pool 2x1x1
      ResBottleneck2 (N->2w->N) on T/2 frames, temporal max-pool 2x1x1
      ResBottleneck3 (N->4w->N) on T/4 frames
    global average pool, FC N -> vocabulary

Every convolution is followed by batch normalisation and ReLU (section III-C: "use batch normalization and
ReLu activation functions after each convolution operation throughout the network"); convolutions carry no
bias because BN follows. The 1x3 / 3x1 convolutions pad 1 along their long side, so Table I's sizes hold
(72 stays 72 until the first pool); the 3x3 conv pads 1 (9 -> 9 in Table I).

Choices where Table I is silent, and why (they are also what reproduces Table VIII):

* **Bottleneck = 1x1 (N->m) / kxk (m->m) / 1x1 (m->N)**, ``m`` the "Middle Channels" column (128, 128, 256),
  i.e. ResNet's bottleneck with the middle width taken from the table. The resolution-dependent kernel
  sits in the middle conv of Bottleneck1: Table VIII's parameter counts grow by 0.1 / 0.3 / 0.4 M from
  56 to 72 to 88 to 104, i.e. by ``c * (k^2 - 1)`` with k^2 = 1, 9, 25, 49 and ``c ~ 16.4 K = 128 x 128``:
  the resizing conv maps 128 to 128 channels, which is exactly the middle conv.
* **The three Bottlenecks are plain** (no shortcut): the table names them apart from the
  ResBottlenecks, Bottleneck1 changes the spatial size (a projection shortcut would add N^2 = 4.2 M
  parameters that Table VIII does not have), and the text says the residual structure is the base block
  of the *temporal* extractor.
* **ResBottleneck = 1x1 (N->m) / TSCM then 3x3 (m->m) / 1x1 (m->N) + identity**: the "TSCM + 2D" hybrid
  convolution replaces the 3x3 conv of a ResNet bottleneck, as TSCM's ResBlockT does to ResNet's block.
  Zero extra parameters, so the six bottlenecks together hold 2 x (0.67 + 0.67 + 1.64) = 5.96 M and the
  whole network 10.54 M at 72 px (Table VIII: 10.5 M).
* **TSCM** (temporal superposition crossover module, ref. [13], "zero parameter, zero computation"): my
  reading is a temporal shift of channel groups in opposite directions: the first ``C / fold_div``
  channels of frame t are taken from frame t-1, the next ``C / fold_div`` from frame t+1 (the two groups
  *cross* in time), and the rest stay; each output frame is thus a channel-wise *superposition* of three
  time steps, which the following 3x3 conv mixes. Copies only, so zero parameters and zero MACs, as the
  TSCM paper claims. ``fold_div = 4`` (a quarter each way) is my choice; sequence ends (and padding
  frames, which are zeroed first) bring in zeros, so a sample's output does not depend on batch padding.
* **Multi-level CTC heads share the one FC** (GAP + FC applied to the frame-level features and to the
  outputs of ResBottleneck1, 2 and 3; the last ``ctc_levels`` of them are trained, the final one decodes).
  MSTNet [15] says its multi-level CTC has "no parameter increase", and Table VIII counts one FC only.
  The auxiliary levels are computed only when the batch has labels, so inference (and profiling) runs the
  network of Table I alone.

Table VIII at N = 2048, vocabulary 1296, 200 frames (``signdistill profile lrinet --channels 2048``):
parameters 10.41 / 10.54 / 10.81 / 11.20 M (paper 10.4 / 10.5 / 10.8 / 11.2, within 0.5 %); MACs as the
project counts them (FlopCounterMode: convolutions and the FC) 168.8 / 254.7 / 362.9 / 493.6 G, 0.9 % under
the paper's 170.4 / 257.0 / 366.3 / 498.1 at every resolution. The residual is the paper's counter, not the
network: adding ptflops' element-wise charges (batch norm 2 per output element, ReLU 1, max-pool 1 per input
element) gives 170.36 / 256.99 / 366.23 / 498.10 G, within 0.02 % of all four entries
(``tests/models/test_lrinet.py`` checks both). That the architecture above reproduces the table to the
second decimal under one consistent counting convention is the evidence for the readings listed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from signdistill.losses.crkd import multilevel_forward
from signdistill.losses.ctc import time_mask
from signdistill.models.baseline import normalise_video, temporal_length

FEATURE_SIZE = 7  # the teacher's frame-feature map: ResNet at 224 px gives 7x7
POOLS = 3  # three 2x2 max-pools in the stem: r -> r / 8


def first_bottleneck_kernel(resolution: int, feature_size: int = FEATURE_SIZE) -> int:
    """Kernel size k of Bottleneck1's middle conv (padding 0) that maps r/8 to ``feature_size``: eq. (11).

    With the paper's 7x7 target, ``k = r / 8 - 6`` (Table II: 56 -> 1, 72 -> 3, 88 -> 5, 104 -> 7); in general
    ``k = r / 8 + 1 - feature_size``. ``r`` must be a multiple of 8 (three exact 2x2 pools) and give k >= 1.
    """
    if resolution <= 0 or resolution % 2**POOLS:
        raise ValueError(f"LRINet resolution {resolution} is not a multiple of 8: r/8 - {feature_size - 1} "
                         "is not an integer (the paper uses 56, 72, 88, 104)")
    k = resolution // 2**POOLS + 1 - feature_size
    if k < 1:
        raise ValueError(f"LRINet resolution {resolution} is too small for a {feature_size}x{feature_size} "
                         f"output: k = r/8 - {feature_size - 1} = {k} < 1 (minimum r = {8 * feature_size})")
    return k


@dataclass
class LRINetConfig:
    """LRINet hyper-parameters; the defaults are the paper's network at 72 px (Table I)."""

    num_classes: int
    resolution: int = 72  # square input frames, r in eq. (11)
    channels: int = 2048  # N: the teacher's frame-feature channels
    width: int = 64  # stem width w: stem channels w, 2w, 4w, 4w; bottleneck middles 2w, 2w, 4w
    feature_size: int = FEATURE_SIZE  # side of the frame-level feature map (the teacher's)
    ctc_levels: int = 4  # multi-level CTC: 4 for PHOENIX, 2 for CSL, 1 = plain CTC (Table VII)
    fold_div: int = 4  # TSCM: 1/fold_div of the channels shifted each way
    gradient_stop: float = 0.0  # share of frames whose F_s gradient is stopped in training ([14])


def conv_bn_relu(cin: int, cout: int, kernel: tuple[int, int], padding: tuple[int, int]) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, kernel, padding=padding, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU(inplace=True))


def split_conv_pair(cin: int, cout: int) -> nn.Sequential:
    """A 3x3 receptive field as 1x3 (cin->cout) then 3x1 (cout->cout): Table I's split kernels."""
    return nn.Sequential(conv_bn_relu(cin, cout, (1, 3), (0, 1)), conv_bn_relu(cout, cout, (3, 1), (1, 0)))


class Bottleneck(nn.Module):
    """1x1 (N->m), k x k (m->m, padding ``(k-1)//2`` unless given), 1x1 (m->N), each with BN + ReLU; no shortcut."""

    def __init__(self, channels: int, middle: int, kernel: int = 3, padding: int | None = None) -> None:
        super().__init__()
        pad = (kernel - 1) // 2 if padding is None else padding
        self.reduce = conv_bn_relu(channels, middle, (1, 1), (0, 0))
        self.spatial = conv_bn_relu(middle, middle, (kernel, kernel), (pad, pad))
        self.expand = conv_bn_relu(middle, channels, (1, 1), (0, 0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.expand(self.spatial(self.reduce(x)))


def temporal_superposition_crossover(x: torch.Tensor, fold_div: int = 4) -> torch.Tensor:
    """TSCM on ``[B, T, C, H, W]``: channels ``[0, f)`` from frame t-1, ``[f, 2f)`` from t+1, the rest from t.

    ``f = C // fold_div``. A pure copy (zero parameters, zero MACs); missing neighbours are zeros.
    """
    f = x.shape[2] // fold_div
    zeros = x.new_zeros(x.shape[0], 1, f, *x.shape[3:])
    from_past = torch.cat([zeros, x[:, :-1, :f]], dim=1)
    from_future = torch.cat([x[:, 1:, f:2 * f], zeros], dim=1)
    return torch.cat([from_past, from_future, x[:, :, 2 * f:]], dim=2)


class ResBottleneck(nn.Module):
    """Residual bottleneck whose 3x3 conv is the "TSCM + 2D" hybrid convolution, on ``[B, T, N, H, W]``."""

    def __init__(self, channels: int, middle: int, fold_div: int = 4) -> None:
        super().__init__()
        self.fold_div = fold_div
        self.reduce = conv_bn_relu(channels, middle, (1, 1), (0, 0))
        self.spatial = conv_bn_relu(middle, middle, (3, 3), (1, 1))
        self.expand = nn.Sequential(nn.Conv2d(middle, channels, 1, bias=False), nn.BatchNorm2d(channels))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b, t = x.shape[:2]
        y = self.reduce(x.flatten(0, 1)).unflatten(0, (b, t))
        y = temporal_superposition_crossover(y * mask[:, :, None, None, None], self.fold_div)  # padding -> zeros
        y = self.expand(self.spatial(y.flatten(0, 1))).unflatten(0, (b, t))
        return F.relu(y + x)


def temporal_max_pool(x: torch.Tensor) -> torch.Tensor:
    """Max3D 2x1x1, stride 2x1x1 on ``[B, T, ...]``: floor(T / 2) steps, a trailing odd frame dropped."""
    steps = x.shape[1] // 2
    return x[:, : 2 * steps].unflatten(1, (steps, 2)).amax(dim=2)


def stochastic_gradient_stop(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, stop: float) -> torch.Tensor:
    """``fn`` over the frames ``x`` [N, ...], back-propagating through a random ``1 - stop`` share only.

    The stochastic gradient stopping CRKD takes from [14]: the other frames run without autograd, which
    is what makes 200-frame ResNet-50 clips fit in memory. Identity to ``fn(x)`` when ``stop`` is 0 or no
    gradient is being recorded.
    """
    if stop <= 0 or not torch.is_grad_enabled():
        return fn(x)
    keep = torch.rand(x.shape[0], device=x.device) >= stop
    keep[torch.randint(x.shape[0], (1,), device=x.device)] = True  # at least one frame learns
    tracked = fn(x[keep])
    out = tracked.new_empty(x.shape[0], *tracked.shape[1:])
    out[keep] = tracked
    if not bool(keep.all()):
        with torch.no_grad():
            out[~keep] = fn(x[~keep])
    return out


def frame_mask(lengths: torch.Tensor, steps: int) -> torch.Tensor:
    """``[B, steps]`` float mask, 1 on each sample's valid steps."""
    return time_mask(lengths, steps).float()


class LRINet(nn.Module):
    """Low-resolution frames -> 7x7 frame-level features -> TSCM temporal blocks -> gloss log-probabilities.

    ``forward(batch)`` follows the model contract (``video`` uint8 ``[B, T, r, r, 3]``, ``lengths``; with
    ``labels`` / ``label_lengths`` it adds ``losses["ctc"]``, the multi-level CTC sum); see ``encode`` for
    the other outputs (frame-level ``features`` for distillation, per-level log-probs).
    """

    temporal_stride = 4  # input frames per output step (decoding.windows aligns windows on it)

    def __init__(self, config: LRINetConfig) -> None:
        super().__init__()
        self.config = config
        w, n = config.width, config.channels
        self.kernel = first_bottleneck_kernel(config.resolution, config.feature_size)
        self.stem = nn.Sequential(
            split_conv_pair(3, w), split_conv_pair(w, 2 * w), nn.MaxPool2d(2, 2),
            split_conv_pair(2 * w, 4 * w), nn.MaxPool2d(2, 2),
            split_conv_pair(4 * w, 4 * w), nn.MaxPool2d(2, 2),
            conv_bn_relu(4 * w, 4 * w, (3, 3), (1, 1)), conv_bn_relu(4 * w, n, (1, 1), (0, 0)),
        )
        self.bottlenecks = nn.Sequential(
            Bottleneck(n, 2 * w, self.kernel, padding=0), Bottleneck(n, 2 * w), Bottleneck(n, 4 * w))
        self.res_bottlenecks = nn.ModuleList(
            [ResBottleneck(n, 2 * w, config.fold_div), ResBottleneck(n, 2 * w, config.fold_div),
             ResBottleneck(n, 4 * w, config.fold_div)])
        self.classifier = nn.Linear(n, config.num_classes)
        if not 1 <= config.ctc_levels <= 4:
            raise ValueError(f"ctc_levels must be 1..4 (frame features, ResBottleneck1-3), got {config.ctc_levels}")

    @property
    def out_channels(self) -> int:
        return self.config.channels

    def frame_features(self, video: torch.Tensor) -> torch.Tensor:
        """F_s, eq. (1): uint8 ``[B, T, r, r, 3]`` -> ``[B, T, N, 7, 7]`` (post-ReLU, as the teacher's ResNet)."""
        r = self.config.resolution
        if video.shape[2:4] != (r, r):
            raise ValueError(f"LRINet was built for {r}x{r} frames, got {tuple(video.shape[2:4])}")
        x = normalise_video(video)  # contiguous NCHW (see normalise_video: a oneDNN heap corruption otherwise)
        b, t = x.shape[:2]
        stop = self.config.gradient_stop if self.training else 0.0
        per_frame = stochastic_gradient_stop(lambda f: self.bottlenecks(self.stem(f)), x.flatten(0, 1), stop)
        return per_frame.unflatten(0, (b, t))

    def classify(self, x: torch.Tensor) -> torch.Tensor:
        """GAP + FC, eq. (3): ``[B, T, N, h, w]`` -> log-probabilities ``[B, T, V]``."""
        return self.classifier(x.mean(dim=(3, 4))).log_softmax(-1)

    def encode(self, video: torch.Tensor, lengths: torch.Tensor, levels: bool = False) -> dict:
        """Everything the losses need.

        Returns ``log_probs`` ``[B, T//4, V]``, ``out_lengths`` (``lengths // 2 // 2``, at least 1),
        ``features`` (frame-level map ``[B, T, N, 7, 7]``, what CRKD's MSE distils) and, when ``levels``,
        ``level_log_probs`` / ``level_lengths``: the last ``ctc_levels`` of (frame features, ResBottleneck1,
        ResBottleneck2, ResBottleneck3), the final entry being ``log_probs``.
        """
        if video.shape[1] < 4:
            raise ValueError(f"LRINet pools time by 4: a clip needs at least 4 frames, got {video.shape[1]}")
        features = self.frame_features(video)
        lengths = lengths.to(features.device)
        x, steps = features, lengths
        taps = [(features, lengths)]
        for i, block in enumerate(self.res_bottlenecks):
            if i > 0:  # Max3D before ResBottleneck2 and 3
                x, steps = temporal_max_pool(x), temporal_length(steps, "P2")
            x = block(x, frame_mask(steps, x.shape[1]))
            taps.append((x, steps))
        out_lengths = steps.clamp(min=1)
        out = {"log_probs": self.classify(x), "out_lengths": out_lengths, "features": features,
               "feature_lengths": lengths}
        if levels:
            chosen = taps[-self.config.ctc_levels:]
            out["level_log_probs"] = [self.classify(t) for t, _ in chosen[:-1]] + [out["log_probs"]]
            out["level_lengths"] = [n.clamp(min=1) for _, n in chosen[:-1]] + [out_lengths]
        return out

    def forward(self, batch: dict) -> dict:
        return multilevel_forward(self, batch)


def build_lrinet(resolution: int = 72, frames: int = 200, vocab: int = 1296, channels: int = 2048,
                 batch: int = 1) -> tuple[nn.Module, tuple]:
    """LRINet at ``resolution`` with N = ``channels`` (2048: Table VIII), one clip of ``frames`` frames.

    Counting Table VIII's 170-500 GMACs executes the network on a real device (slow and memory-hungry on a
    CPU); ``signdistill profile lrinet --device meta`` gives the same parameter and MAC counts from shapes
    alone, in a fraction of a second.
    """
    model = LRINet(LRINetConfig(num_classes=vocab, resolution=resolution, channels=channels))
    video = torch.randint(0, 255, (batch, frames, resolution, resolution, 3), dtype=torch.uint8)
    return model, ({"video": video, "lengths": torch.full((batch,), frames)},)
