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

- *Fusion* (appendix B, eq. 7-17) and the stage feature for the KD: see ``models.signkd_fusion``.
- *Heads* (sec. 3.1) and the *SPN* (appendix C): see ``models.signkd_heads``. With a single stream there is
  no joint head (it would duplicate the stream's), and no self-distillation (one head distils to itself).
  The SPN runs only when the batch has labels (training), so inference cost excludes it.
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
from signdistill.models.signkd_fusion import FUSIONS, make_fusion, mean_of_streams
from signdistill.models.signkd_heads import SignKDHead, SignPyramid
from signdistill.pose.heatmaps import signkd_heatmaps

STREAMS = ("rgb", "heatmap", "flow")
STREAM_INPUT_CHANNELS = {"rgb": 3, "heatmap": 79, "flow": 2}
STREAM_BATCH_KEYS = {"rgb": "video", "heatmap": "heatmaps", "flow": "flow"}
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
    residual: bool = False  # shortcuts around S3D's inception blocks (models.s3d; not in the paper)
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

    temporal_stride = 4  # input frames per output step (decoding.windows aligns windows on it)

    def __init__(self, config: SignKDTeacherConfig) -> None:
        super().__init__()
        if config.fusion not in FUSIONS:
            raise ValueError(f"unknown fusion {config.fusion!r} ({' | '.join(FUSIONS)})")
        self.config = config
        self.streams = _check_streams(config.streams)
        self.encoders = nn.ModuleDict({s: S3DEncoder(STREAM_INPUT_CHANNELS[s], config.width, config.bn_momentum,
                                                            config.residual)
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
    residual: bool = False  # shortcuts around S3D's inception blocks (models.s3d; not in the paper)


class SignKDStudent(nn.Module):
    """RGB-only SignKD model: S3D blocks 1-4 and the video head, no fusion, CTC.

    Returns ``log_probs``, ``out_lengths`` (T/4), ``stage_features`` (the four block outputs f_s^i) and
    ``losses`` {ctc} when the batch has labels.
    """

    temporal_stride = 4  # input frames per output step (decoding.windows aligns windows on it)

    def __init__(self, config: SignKDStudentConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = S3DEncoder(3, config.width, config.bn_momentum, config.residual)
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
