"""The VAC/SMKD baseline recogniser that the distillation papers start from.

ResNet-18 per frame -> 1D temporal convolution K5-P2-K5-P2 (to 1024 channels) -> 2-layer BiLSTM (512 per
direction) -> linear classifier, trained with CTC. Conv padding is 0, as in VAC: the temporal length
goes T -> T-4 -> (T-4)//2 -> ... (see ``temporal_length``), which the trainer uses for CTC lengths.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from signdistill.losses.ctc import ctc_loss, time_mask
from signdistill.models.resnet import ResNet18Frames

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def temporal_length(lengths: torch.Tensor, layout: str = "K5P2K5P2") -> torch.Tensor:
    """Output lengths of the temporal conv stack, with integer division (no float drift)."""
    out = lengths.clone()
    for i in range(0, len(layout), 2):
        kind, size = layout[i], int(layout[i + 1])
        out = out - (size - 1) if kind == "K" else torch.div(out, size, rounding_mode="floor")
    return out


class TemporalConv(nn.Module):
    """K5-P2-K5-P2: two (conv k5, BN, ReLU, max-pool 2) stages, as in VAC and SMKD."""

    min_steps = 16  # the fewest input steps its unpadded stages leave one output step for: ((16-4)//2-4)//2 = 1

    def __init__(self, in_channels: int, hidden: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv1d(in_channels, hidden, 5), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True), nn.MaxPool1d(2),
            nn.Conv1d(hidden, hidden, 5), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True), nn.MaxPool1d(2),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [B, C, T] -> [B, hidden, T']
        return self.net(x)


def normalise_video(video: torch.Tensor) -> torch.Tensor:
    """uint8 [B, T, H, W, 3] -> float [B, T, 3, H, W], ImageNet statistics (on the model's device).

    The result is contiguous (channels first in memory), not a permuted channels-last view: oneDNN's CPU
    backward of a 1x1 stride-2 convolution on channels-last input with few channels (ResNet-18 width 4
    and 8, the downsample of ``layer2``) corrupts the heap in torch 2.15 (segfaults, glibc "corrupted
    double-linked list"); tests/models/test_baseline_memory.py reproduces it in a subprocess.
    """
    x = video.permute(0, 1, 4, 2, 3).contiguous().float().div_(255.0)
    mean = torch.tensor(IMAGENET_MEAN, device=x.device).view(1, 1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=x.device).view(1, 1, 3, 1, 1)
    return (x - mean) / std


def frame_features(frames: nn.Module, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Per-frame CNN features [B, T, C] of normalised clips [B, T, 3, H, W]; padding frames stay zero
    and are never computed."""
    b, t = x.shape[:2]
    mask = time_mask(lengths.to(x.device), t)
    valid = frames(x[mask])
    # allocated after the CNN so that it takes the CNN's dtype: under CUDA autocast that is half, not x's float
    feats = valid.new_zeros(b, t, valid.shape[-1])
    feats[mask] = valid
    return feats


def run_bilstm(lstm: nn.LSTM, seq: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """(Bi)LSTM over the valid steps of each sequence [B, T, C] -> [B, T, directions * hidden], zeros past
    the end (packed, so padding never enters the recurrence)."""
    packed = nn.utils.rnn.pack_padded_sequence(seq, lengths.cpu(), batch_first=True, enforce_sorted=False)
    hidden, _ = lstm(packed)
    hidden, _ = nn.utils.rnn.pad_packed_sequence(hidden, batch_first=True, total_length=seq.shape[1])
    return hidden


@dataclass
class BaselineConfig:
    num_classes: int
    width: int = 64  # ResNet-18 base width; 64 is the paper's network
    hidden: int = 1024  # temporal conv channels
    lstm_hidden: int = 512  # per direction
    lstm_layers: int = 2
    weights: str | None = None  # local ImageNet ResNet-18 state dict


class BaselineRecognizer(nn.Module):
    """Frames -> gloss log-probabilities; ``forward`` returns named losses when labels are given."""

    temporal_stride = 4  # input frames per output step (decoding.windows aligns windows on it)

    def __init__(self, config: BaselineConfig) -> None:
        super().__init__()
        self.config = config
        self.frames = ResNet18Frames(config.width, config.weights)
        self.temporal = TemporalConv(self.frames.out_channels, config.hidden)
        self.lstm = nn.LSTM(config.hidden, config.lstm_hidden, config.lstm_layers, bidirectional=True,
                            batch_first=True)
        self.classifier = nn.Linear(2 * config.lstm_hidden, config.num_classes)

    def encode(self, video: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """uint8 video [B, T, H, W, 3] -> logits [B, T', C] and output lengths [B]."""
        feats = frame_features(self.frames, normalise_video(video), lengths)
        seq = self.temporal(feats.transpose(1, 2)).transpose(1, 2)
        out_lengths = temporal_length(lengths).clamp(min=1)
        return self.classifier(run_bilstm(self.lstm, seq, out_lengths)), out_lengths

    def forward(self, batch: dict) -> dict:
        logits, out_lengths = self.encode(batch["video"], batch["lengths"])
        log_probs = logits.log_softmax(-1)
        out = {"log_probs": log_probs, "out_lengths": out_lengths}
        if "labels" in batch:
            out["losses"] = {"ctc": ctc_loss(log_probs, out_lengths, batch["labels"], batch["label_lengths"])}
        return out


def build_baseline(resolution: int = 224, frames: int = 200, vocab: int = 1296, channels: int = 64,
                   batch: int = 1) -> tuple[nn.Module, tuple]:
    """The VAC/SMKD baseline (ResNet-18 -> K5-P2-K5-P2 -> BiLSTM); ``channels`` is the ResNet base width."""
    model = BaselineRecognizer(BaselineConfig(num_classes=vocab, width=channels))
    video = torch.randint(0, 255, (batch, frames, resolution, resolution, 3), dtype=torch.uint8)
    return model, ({"video": video, "lengths": torch.full((batch,), frames)},)
