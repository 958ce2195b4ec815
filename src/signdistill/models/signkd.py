"""SignKD's multi-modal teacher and RGB-only student (paper sec. 3.1-3.2, appendices B and C).

Teacher: one S3D encoder (first four blocks, ``models.s3d``) per stream — RGB, 79 keypoint heatmaps,
TV-L1 flow — with a fusion module after each block (stages M1-M4), a head per stream plus a joint head
over the concatenated streams, a late ensemble of the heads for decoding, a sign pyramid network (SPN)
per stream and frame-level self-distillation. Student: the RGB encoder and head alone.

Batch keys (the trainer's model contract plus the teacher's extra inputs):

- ``video``: uint8 [B, T, H, W, 3] (RGB stream; Kinetics normalisation of the S3D weights).
- ``heatmaps``: float [B, T, 79, h, w] (heatmap stream), one clip's ``pose.heatmaps.signkd_heatmaps``
  output ([T, 79, h, w], peak = keypoint score, sigma 4 at 112 in the paper) stacked over the batch and
  zero-padded in time like the video; taken as is.
- ``flow``: float [B, T, 2, h, w] (flow stream), dequantised TV-L1 (dx, dy) in pixels, clipped to +-20;
  divided by 20 so the input lies in [-1, 1]. It must have the video's T (pad the field of the last
  frame, which has no successor), so that all streams share one time axis.
- ``lengths`` int64 [B]; ``labels`` / ``label_lengths`` turn on the losses.

Choices where the paper is open (each is also noted where it is made):

- *Half-size streams at the fusion points.* Heatmaps and flow are half the RGB size (112 vs 224), so
  their block outputs are on a grid half as fine. Each fusion module works on the finest grid among its
  inputs (the RGB grid when RGB is on): coarser features are upsampled trilinearly to it, and the fused
  feature is average-pooled back to each coarser stream's grid before the residual addition. This keeps
  the fusion modules exactly equations 7-17 (no extra learned resampling) and gives the fused feature
  on the RGB grid, where the RGB-only student's features live for the hierarchical KD.
- *MLP fusion* (eq. 7): concatenation (``⊗``) -> Linear(nC, C) -> GELU -> Linear(C, C) -> GELU ->
  Linear(C, C), applied at every (t, y, x); hidden width C keeps it at 5C^2 weights per stage.
- *Attention fusion* (eq. 11-13): each stream gets the sum of its cross-attention to each other stream
  (eq. 11's second term reads R_c(F_keypoint, F_flow), a typo for R_c(F_video, F_flow) by symmetry with
  eq. 12-13). Attention runs within each time step, queries at every location, keys/values from the
  other stream average-pooled to at most 7x7 (full spatio-temporal attention over 100 x 112 x 112
  tokens at block 1 is out of reach); pre-LayerNorm, heads of 32 channels (1 head below that).
- *Convolution fusion* (eq. 14): R_1(R_2(x)) with R_2 the 3x3x3 and R_1 the 1x1x1 convolution, in the
  paper's order; a GELU between them so the two do not collapse into one linear map.
- *Stage feature for the KD* (eq. 2, f_t^i): F_fuse for MLP and convolution fusion; attention has no
  single F_fuse, so the mean of the enhanced streams F'_m (on the finest grid) stands in; an unfused
  stage (not in ``fusion_stages``, ``fusion="none"`` or one stream) gives the mean of the streams.
- *Heads* (sec. 3.1): Linear -> BN -> ReLU -> [Conv1d k3 -> BN -> ReLU] x 2 -> Linear -> ReLU -> classifier,
  hidden 512 at width 1.0 (scaled with the width by default). With a single stream there is no joint
  head (it would duplicate the stream's), and no self-distillation (one head distils to itself).
- *SPN* (appendix C): top-down over blocks 2-4 of each stream after fusion, p3 = f3 + Up(f4) and
  p2 = f2 + Up(p3), with TwoStream-SLR's upsampling (which SignKD's SPN builds on): transposed conv 1x3x3
  (space x2) then 3x1x1 (time x2 for block 4 -> 3, x1 for 3 -> 2), each with BN and ReLU. Each level is
  spatially pooled into its own head; auxiliary CTC at T/2 on both levels of every stream, summed into
  ``spn``. The SPN runs only when the batch has labels (training), so inference cost excludes it.
- *Self-distillation*: KL(mean of the heads' probabilities || each head), the target detached (a
  pseudo-label), mean over valid frames, summed over the heads.
- Loss names ``ctc`` (sum of the heads' CTC), ``spn``, ``sd``; the trainer weighs them from config
  (``SIGNKD_TEACHER_LOSS_WEIGHTS`` holds the paper's best 1.0 / 0.2 / 1.0).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from signdistill.losses.ctc import ctc_loss
from signdistill.losses.signkd import frame_kl
from signdistill.models.s3d import (
    S3DEncoder,
    load_kinetics_s3d,
    normalise_video_kinetics,
    pool_sequence,
    s3d_block_lengths,
    scaled,
)
from signdistill.pose.heatmaps import signkd_heatmaps

STREAMS = ("rgb", "heatmap", "flow")
STREAM_INPUT_CHANNELS = {"rgb": 3, "heatmap": 79, "flow": 2}
STREAM_BATCH_KEYS = {"rgb": "video", "heatmap": "heatmaps", "flow": "flow"}
FUSIONS = ("mlp", "attention", "conv", "none")
FLOW_CLIP = 20.0  # pixels; the stored flow's range (design notes), mapped to [-1, 1]
HEAD_HIDDEN = 512  # the paper's gloss representation size at width 1.0
# Paper's best teacher weights (Table 4a): lambda_CTC, lambda_SPN, lambda_SD.
SIGNKD_TEACHER_LOSS_WEIGHTS = {"ctc": 1.0, "spn": 0.2, "sd": 1.0}


def parse_stages(stages: Iterable[int | str], prefix: str) -> tuple[int, ...]:
    """Stage numbers 1-4 from ints or the paper's names (``"M1"``, ``"S3"``, ...), sorted and unique."""
    out = set()
    for stage in stages:
        text = str(stage).upper().removeprefix(prefix.upper())
        if text not in ("1", "2", "3", "4"):
            raise ValueError(f"stage {stage!r} is not one of {prefix}1..{prefix}4")
        out.add(int(text))
    return tuple(sorted(out))


def late_ensemble(log_probs: Sequence[torch.Tensor]) -> torch.Tensor:
    """Log of the mean of the heads' probabilities (log-sum-exp, so no underflow)."""
    return torch.logsumexp(torch.stack(list(log_probs)), dim=0) - math.log(len(log_probs))


def resize_to(x: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """[B, C, T, H, W] onto a (T, H, W) grid: trilinear upsampling, average pooling when shrinking."""
    size = tuple(int(s) for s in size)
    if tuple(x.shape[2:]) == size:
        return x
    if all(s <= d for s, d in zip(size, x.shape[2:], strict=True)):
        return F.adaptive_avg_pool3d(x, size)
    return F.interpolate(x, size=size, mode="trilinear", align_corners=False)


def finest_grid(feats: Sequence[torch.Tensor]) -> tuple[int, ...]:
    """The largest (T, H, W) among the features: the grid a fusion module works on."""
    return tuple(max(int(f.shape[d]) for f in feats) for d in (2, 3, 4))


def mean_of_streams(feats: Sequence[torch.Tensor]) -> torch.Tensor:
    """Streams averaged on the finest grid (a single stream is returned as is)."""
    if len(feats) == 1:
        return feats[0]
    grid = finest_grid(feats)
    return torch.stack([resize_to(f, grid) for f in feats]).mean(0)


class MLPFusion(nn.Module):
    """Appendix B eq. 7-10: F_fuse = MLP(F_1 ⊗ ... ⊗ F_n); F'_m = F_fuse + F_m for every stream m."""

    def __init__(self, channels: int, num_streams: int) -> None:
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(num_streams * channels, channels), nn.GELU(),
                                 nn.Linear(channels, channels), nn.GELU(), nn.Linear(channels, channels))

    def forward(self, feats: Sequence[torch.Tensor]) -> tuple[list[torch.Tensor], torch.Tensor]:
        grid = finest_grid(feats)
        joint = torch.cat([resize_to(f, grid) for f in feats], dim=1)
        fused = self.mlp(joint.movedim(1, -1)).movedim(-1, 1)
        return [f + resize_to(fused, f.shape[2:]) for f in feats], fused


class ConvFusion(nn.Module):
    """Appendix B eq. 14-17: F_fuse = R_1(R_2(F_1 ⊗ ... ⊗ F_n)), R_2 3x3x3, R_1 1x1x1; F'_m = F_fuse + F_m."""

    def __init__(self, channels: int, num_streams: int) -> None:
        super().__init__()
        self.r2 = nn.Conv3d(num_streams * channels, channels, kernel_size=3, padding=1)
        self.act = nn.GELU()
        self.r1 = nn.Conv3d(channels, channels, kernel_size=1)

    def forward(self, feats: Sequence[torch.Tensor]) -> tuple[list[torch.Tensor], torch.Tensor]:
        grid = finest_grid(feats)
        fused = self.r1(self.act(self.r2(torch.cat([resize_to(f, grid) for f in feats], dim=1))))
        return [f + resize_to(fused, f.shape[2:]) for f in feats], fused


class CrossAttention(nn.Module):
    """R_c(query, context): per time step, every query location attends to the context pooled to <= kv x kv."""

    def __init__(self, channels: int, kv_size: int = 7) -> None:
        super().__init__()
        heads = channels // 32 if channels % 32 == 0 else 1
        self.kv_size = kv_size
        self.norm_q, self.norm_kv = nn.LayerNorm(channels), nn.LayerNorm(channels)
        self.attn = nn.MultiheadAttention(channels, heads, batch_first=True)

    def forward(self, query: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        b, c, t, h, w = query.shape
        kv_grid = (t, min(self.kv_size, context.shape[3]), min(self.kv_size, context.shape[4]))
        kv = F.adaptive_avg_pool3d(context, kv_grid).permute(0, 2, 3, 4, 1).reshape(b * t, -1, c)
        q = query.permute(0, 2, 3, 4, 1).reshape(b * t, h * w, c)
        kv = self.norm_kv(kv)
        out, _ = self.attn(self.norm_q(q), kv, kv, need_weights=False)
        return out.reshape(b, t, h, w, c).permute(0, 4, 1, 2, 3)


class AttentionFusion(nn.Module):
    """Appendix B eq. 11-13: F'_m = F_m + sum over the other streams n of R_c(F_m, F_n)."""

    def __init__(self, channels: int, streams: Sequence[str], kv_size: int = 7) -> None:
        super().__init__()
        self.streams = tuple(streams)
        self.cross = nn.ModuleDict({f"{q}_{k}": CrossAttention(channels, kv_size)
                                    for q in self.streams for k in self.streams if q != k})

    def forward(self, feats: Sequence[torch.Tensor]) -> tuple[list[torch.Tensor], torch.Tensor]:
        out = []
        for q_name, q in zip(self.streams, feats, strict=True):
            update = q
            for k_name, k in zip(self.streams, feats, strict=True):
                if k_name != q_name:
                    update = update + self.cross[f"{q_name}_{k_name}"](q, k)
            out.append(update)
        return out, mean_of_streams(out)


def make_fusion(kind: str, channels: int, streams: Sequence[str], kv_size: int = 7) -> nn.Module:
    if kind == "mlp":
        return MLPFusion(channels, len(streams))
    if kind == "conv":
        return ConvFusion(channels, len(streams))
    if kind == "attention":
        return AttentionFusion(channels, streams, kv_size)
    raise ValueError(f"unknown fusion {kind!r} ({' | '.join(FUSIONS)})")


class SignKDHead(nn.Module):
    """Sec. 3.1 head: [B, T, C] -> gloss logits [B, T, V] through a [B, T, hidden] gloss representation."""

    def __init__(self, in_channels: int, hidden: int, vocab_size: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(in_channels, hidden)
        self.bn1 = nn.BatchNorm1d(hidden)
        self.temporal = nn.Sequential(
            nn.Conv1d(hidden, hidden, 3, padding=1), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True),
            nn.Conv1d(hidden, hidden, 3, padding=1), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True),
        )
        self.fc2 = nn.Linear(hidden, hidden)
        self.classifier = nn.Linear(hidden, vocab_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn1(self.fc1(x).transpose(1, 2)))
        gloss = F.relu(self.fc2(self.temporal(x).transpose(1, 2)))
        return self.classifier(gloss)


class TopDownUpsample(nn.Module):
    """TwoStream-SLR's SPN upsampling: transposed conv 1x3x3 (space x2) then 3x1x1 (time x ``time_scale``),
    each followed by BN and ReLU; ``output_size`` picks the output padding, so odd sizes line up."""

    def __init__(self, in_channels: int, out_channels: int, time_scale: int, bn_momentum: float = 0.1) -> None:
        super().__init__()
        self.conv_s = nn.ConvTranspose3d(in_channels, out_channels, (1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1),
                                         bias=False)
        self.bn_s = nn.BatchNorm3d(out_channels, eps=1e-3, momentum=bn_momentum)
        self.conv_t = nn.ConvTranspose3d(out_channels, out_channels, (3, 1, 1), stride=(time_scale, 1, 1),
                                         padding=(1, 0, 0), bias=False)
        self.bn_t = nn.BatchNorm3d(out_channels, eps=1e-3, momentum=bn_momentum)

    def forward(self, x: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
        x = F.relu(self.bn_s(self.conv_s(x, output_size=[x.shape[2], size[1], size[2]])))
        return F.relu(self.bn_t(self.conv_t(x, output_size=list(size))))


class SignPyramid(nn.Module):
    """Appendix C SPN over blocks 2-4 of one stream: two top-down levels, each with its own head (T/2 logits)."""

    def __init__(self, channels: Sequence[int], hidden: int, vocab_size: int, bn_momentum: float = 0.1) -> None:
        super().__init__()
        c2, c3, c4 = channels
        self.up4 = TopDownUpsample(c4, c3, time_scale=2, bn_momentum=bn_momentum)  # block 4 -> block 3 grid
        self.up3 = TopDownUpsample(c3, c2, time_scale=1, bn_momentum=bn_momentum)  # block 3 -> block 2 grid
        self.head3 = SignKDHead(c3, hidden, vocab_size)
        self.head2 = SignKDHead(c2, hidden, vocab_size)

    def forward(self, f2: torch.Tensor, f3: torch.Tensor, f4: torch.Tensor) -> list[torch.Tensor]:
        p3 = f3 + self.up4(f4, f3.shape[2:])
        p2 = f2 + self.up3(p3, f2.shape[2:])
        return [self.head3(pool_sequence(p3)), self.head2(pool_sequence(p2))]


@dataclass
class SignKDTeacherConfig:
    vocab_size: int
    streams: tuple[str, ...] = STREAMS  # any non-empty subset (Table 3: VE / KE / FE)
    fusion: str = "mlp"  # mlp | attention | conv | none
    fusion_stages: tuple[int | str, ...] = (1, 2, 3, 4)  # M1..M4 (ints or "M1"-style names)
    width: float = 1.0  # S3D width multiplier (1.0 = the paper's 832-channel block 4)
    head_hidden: int | None = None  # None: 512 x width
    spn: bool = True
    self_distillation: bool = True
    attention_kv_size: int = 7
    bn_momentum: float = 0.1
    weights: str | None = None  # local torchvision Kinetics-400 S3D state dict (width 1.0 only)
    heatmap_sigma: float = 4.0  # Gaussian sigma in heatmap pixels when heatmaps are rendered from keypoints
    heatmap_size: int | None = None  # rendered heatmap side; None: half the RGB clip's (112 for 224, the paper)
    heatmap_part_zoom: float | None = None  # hands and mouth magnified about their centres (pose.heatmaps)
    sd_warmup_epochs: int = 0  # self-distillation ramps linearly from 0 over these epochs (the paper: none stated)


def _check_streams(streams: Sequence[str]) -> tuple[str, ...]:
    unknown = set(streams) - set(STREAMS)
    if not streams or unknown or len(set(streams)) != len(streams):
        raise ValueError(f"streams must be a non-empty subset of {STREAMS} without repeats, got {streams!r}")
    return tuple(s for s in STREAMS if s in streams)  # canonical order: the joint head's concatenation


def stream_inputs(batch: dict, streams: Sequence[str], sigma: float = 4.0, heatmap_size: int | None = None,
                  part_zoom: float | None = None) -> dict[str, torch.Tensor]:
    """The enabled streams' encoder inputs [B, C, T, H, W] from the batch (see the module docstring).

    Without ``heatmaps``, the heatmap stream renders them on the batch's device from ``keypoints`` [B, T, 133, 3]
    (already in the crop's pixels, e.g. ``data.clips.AlignedStreams``, a square of the flow's side) at
    ``heatmap_size`` (default half the RGB size, the flow's size in the paper).
    """
    out = {}
    if "heatmap" in streams and "heatmaps" not in batch and "keypoints" in batch:
        size = heatmap_size or (batch["video"].shape[2] // 2 if "video" in batch else batch["flow"].shape[-1])
        keypoints = batch["keypoints"].float()
        side = batch["flow"].shape[-1] if "flow" in batch else size
        if side != size:  # keypoints are in the pixels of the streams' crop (the flow's side): onto the heatmap grid
            keypoints = keypoints * torch.tensor([size / side, size / side, 1.0], device=keypoints.device)
        batch = {**batch, "heatmaps": signkd_heatmaps(keypoints, size, sigma, part_zoom)}
    for stream in streams:
        key = STREAM_BATCH_KEYS[stream]
        if key not in batch:
            raise KeyError(f"the {stream} stream needs batch[{key!r}]")
        if stream == "rgb":
            out[stream] = normalise_video_kinetics(batch[key])
        elif stream == "flow":
            out[stream] = batch[key].float().div(FLOW_CLIP).transpose(1, 2)
        else:
            out[stream] = batch[key].float().transpose(1, 2)
    frames = {name: int(x.shape[2]) for name, x in out.items()}
    if len(set(frames.values())) > 1:
        raise ValueError(f"all streams need the same number of frames, got {frames}")
    return out


class SignKDTeacher(nn.Module):
    """Multi-modal teacher; ``forward(batch)`` follows the model contract (see the module docstring).

    Returns ``log_probs`` (late ensemble), ``out_lengths`` (T/4), ``head_log_probs`` {stream | "joint"},
    ``stage_features`` (the four f_t^i) and ``losses`` {ctc, spn, sd} when the batch has labels.
    """

    def __init__(self, config: SignKDTeacherConfig) -> None:
        super().__init__()
        if config.fusion not in FUSIONS:
            raise ValueError(f"unknown fusion {config.fusion!r} ({' | '.join(FUSIONS)})")
        self.config = config
        self.streams = _check_streams(config.streams)
        self.encoders = nn.ModuleDict({s: S3DEncoder(STREAM_INPUT_CHANNELS[s], config.width, config.bn_momentum)
                                       for s in self.streams})
        channels = self.encoders[self.streams[0]].block_channels
        self.stage_channels: tuple[int, ...] = channels
        self.fusion_stages = parse_stages(config.fusion_stages, "M")
        fuse = config.fusion != "none" and len(self.streams) > 1
        self.fusions = nn.ModuleDict({f"M{i}": make_fusion(config.fusion, channels[i - 1], self.streams,
                                                           config.attention_kv_size)
                                      for i in self.fusion_stages if fuse})
        hidden = config.head_hidden or scaled(HEAD_HIDDEN, config.width)
        heads = {s: SignKDHead(channels[-1], hidden, config.vocab_size) for s in self.streams}
        if len(self.streams) > 1:
            heads["joint"] = SignKDHead(len(self.streams) * channels[-1], hidden, config.vocab_size)
        self.heads = nn.ModuleDict(heads)
        self.pyramids = nn.ModuleDict({s: SignPyramid(channels[1:], hidden, config.vocab_size, config.bn_momentum)
                                       for s in self.streams} if config.spn else {})
        if config.weights:
            for encoder in self.encoders.values():
                load_kinetics_s3d(encoder, config.weights)
        self.sd_scale = 1.0

    def start_epoch(self, epoch: int, epochs: int) -> float:
        """Self-distillation warm-up (the trainer's epoch hook; the learning rate is left as it is).

        The SD target is the detached late ensemble, which early in training predicts blank almost
        everywhere; at full weight from the first step it pulls every head towards blank (on the default
        corpus the teacher ended deletion-dominated). The paper states no warm-up; ours ramps the term's
        factor linearly, 0 at epoch 0 and 1 from epoch ``sd_warmup_epochs``.
        """
        warmup = self.config.sd_warmup_epochs
        self.sd_scale = 1.0 if warmup <= 0 else min(1.0, epoch / warmup)
        return 1.0

    @property
    def input_keys(self) -> tuple[str, ...]:
        return tuple(STREAM_BATCH_KEYS[s] for s in self.streams)

    def encode(self, inputs: dict[str, torch.Tensor]) -> tuple[dict[str, list[torch.Tensor]], list[torch.Tensor]]:
        """Blocks 1-4 of every stream with fusion stage M_i after block i.

        Returns each stream's post-fusion block outputs (what block i+1, the heads and the SPN see) and the
        four stage features f_t^i.
        """
        x = dict(inputs)
        blocks: dict[str, list[torch.Tensor]] = {s: [] for s in self.streams}
        stages = []
        for i in range(1, 5):
            feats = [self.encoders[s].forward_block(i, x[s]) for s in self.streams]
            if f"M{i}" in self.fusions:
                feats, fused = self.fusions[f"M{i}"](feats)
            else:
                fused = mean_of_streams(feats)
            x = dict(zip(self.streams, feats, strict=True))
            for s in self.streams:
                blocks[s].append(x[s])
            stages.append(fused)
        return blocks, stages

    def forward(self, batch: dict) -> dict:
        blocks, stages = self.encode(stream_inputs(batch, self.streams, self.config.heatmap_sigma,
                                                   self.config.heatmap_size, self.config.heatmap_part_zoom))
        pooled = [pool_sequence(blocks[s][-1]) for s in self.streams]
        logits = {s: self.heads[s](p) for s, p in zip(self.streams, pooled, strict=True)}
        if "joint" in self.heads:
            logits["joint"] = self.heads["joint"](torch.cat(pooled, dim=-1))
        head_log_probs = {name: x.log_softmax(-1) for name, x in logits.items()}
        out = {"log_probs": late_ensemble(list(head_log_probs.values())),
               "out_lengths": s3d_block_lengths(batch["lengths"], 4),
               "head_log_probs": head_log_probs, "stage_features": stages}
        if "labels" in batch:
            out["losses"] = self.losses(batch, blocks, out)
        return out

    def losses(self, batch: dict, blocks: dict[str, list[torch.Tensor]], out: dict) -> dict[str, torch.Tensor]:
        """Eq. 1's terms, unweighted: ``ctc`` (sum over heads), ``spn`` (auxiliary CTC), ``sd``."""
        labels, label_lengths = batch["labels"], batch["label_lengths"]
        lengths = out["out_lengths"]
        heads = list(out["head_log_probs"].values())
        losses = {"ctc": sum(ctc_loss(lp, lengths, labels, label_lengths) for lp in heads)}
        if self.pyramids:
            spn_lengths = s3d_block_lengths(batch["lengths"], 3)
            losses["spn"] = sum(ctc_loss(level.log_softmax(-1), spn_lengths, labels, label_lengths)
                                for s in self.streams for level in self.pyramids[s](*blocks[s][1:]))
        if self.config.self_distillation and len(heads) > 1:
            target = out["log_probs"].detach()
            losses["sd"] = self.sd_scale * sum(frame_kl(target, lp, lengths) for lp in heads)
        return losses


@dataclass
class SignKDStudentConfig:
    vocab_size: int
    width: float = 1.0
    head_hidden: int | None = None  # None: 512 x width
    bn_momentum: float = 0.1
    weights: str | None = None  # local torchvision Kinetics-400 S3D state dict (width 1.0 only)


class SignKDStudent(nn.Module):
    """RGB-only SignKD model: S3D blocks 1-4 and the video head, no fusion, CTC.

    Returns ``log_probs``, ``out_lengths`` (T/4), ``stage_features`` (the four block outputs f_s^i) and
    ``losses`` {ctc} when the batch has labels.
    """

    def __init__(self, config: SignKDStudentConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = S3DEncoder(3, config.width, config.bn_momentum)
        self.stage_channels: tuple[int, ...] = self.encoder.block_channels
        hidden = config.head_hidden or scaled(HEAD_HIDDEN, config.width)
        self.head = SignKDHead(self.encoder.out_channels, hidden, config.vocab_size)
        if config.weights:
            load_kinetics_s3d(self.encoder, config.weights)

    def forward(self, batch: dict) -> dict:
        blocks, pooled = self.encoder(normalise_video_kinetics(batch["video"]))
        log_probs = self.head(pooled).log_softmax(-1)
        out = {"log_probs": log_probs, "out_lengths": s3d_block_lengths(batch["lengths"], 4),
               "stage_features": blocks}
        if "labels" in batch:
            out["losses"] = {"ctc": ctc_loss(log_probs, out["out_lengths"], batch["labels"],
                                             batch["label_lengths"])}
        return out


def _width(channels: int | None) -> float:
    """The profile CLI's ``--channels``: S3D's first-layer width (64 at width 1.0), None = 64."""
    return 1.0 if channels is None else channels / 64


def example_batch(resolution: int, frames: int, batch: int = 1, streams: Sequence[str] = STREAMS) -> dict:
    """Random inputs of the teacher's streams: RGB at ``resolution``, heatmaps and flow at half of it."""
    half = max(1, resolution // 2)
    out: dict = {"video": torch.randint(0, 256, (batch, frames, resolution, resolution, 3), dtype=torch.uint8),
                 "lengths": torch.full((batch,), frames, dtype=torch.long)}
    if "heatmap" in streams:
        out["heatmaps"] = torch.rand(batch, frames, STREAM_INPUT_CHANNELS["heatmap"], half, half)
    if "flow" in streams:
        out["flow"] = (torch.rand(batch, frames, 2, half, half) - 0.5) * 2 * FLOW_CLIP
    return out


def build_signkd_teacher(resolution: int = 224, frames: int = 200, vocab: int = 1296, channels: int | None = None,
                         batch: int = 1) -> tuple[nn.Module, tuple]:
    """Three-stream MLP-fused teacher; heatmaps and flow at half ``resolution``; ``channels`` = 64 x width."""
    model = SignKDTeacher(SignKDTeacherConfig(vocab_size=vocab, width=_width(channels)))
    return model, (example_batch(resolution, frames, batch),)


def build_signkd_student(resolution: int = 224, frames: int = 200, vocab: int = 1296, channels: int | None = None,
                         batch: int = 1) -> tuple[nn.Module, tuple]:
    """RGB-only student; ``channels`` = 64 x width."""
    model = SignKDStudent(SignKDStudentConfig(vocab_size=vocab, width=_width(channels)))
    return model, (example_batch(resolution, frames, batch, streams=("rgb",)),)
