"""CTCA: cross-temporal context aggregation (Guo et al., "Distilling Cross-Temporal Contexts for Continuous
Sign Language Recognition", ICCV 2023).

SPM-shared dual-path network (SDPN, Sec. 4.2, Fig. 3): a ResNet-18 spatial perception module (SPM) feeds
(a) a local branch, the 1D-TCN (K = 3 layers of conv k3 + BN + ReLU, 1024 channels) with its classifier,
and (b) a global branch, a 2-layer BLSTM directly on the SPM features with its classifier. Both branches
are trained with CTC and the cross-context distillation of ``signdistill.losses.ctca``; at inference only
SPM + BLSTM run (``forward`` without labels skips the TCN; ``export`` is that network alone).

Where the K5-P2-K5-P2 of the baseline goes: nowhere. The BLSTM branch is the paper's "K = 0" TAM (Sec. 3.2,
4.1: CSLR-GloTAM drops the 1D-TCN), and its TCN has no pooling: Table 7 gives F3-F3-F3 a window of
"7*2", i.e. receptive field 7 at stride 1 (K5-P2-K5 would be 13) on clips of which half the frames were
dropped. The paper's temporal reduction is that frame dropping (SFL, Sec. 4.4: "we randomly discard half
of video frames" in training and test), which we do inside the model (``frame_stride`` = 2): a random
sorted half in training, every second frame at evaluation (deterministic, our choice). Outputs are at
T/2, the TCN pads its convs ("same" length) so that V^loc and V^glo line up frame by frame.

Widths: the paper sets the TCN to 1024 channels and "BLSTM to 2048". The distillation terms compare
V^loc and V^glo channel by channel, so they must have one width; a 2 x 1024 BLSTM would also make the
inference network bigger (51.6 M parameters at 1,296 classes) than SMKD's (33.0 M), against the paper's
Fig. 1(c), where CTCA is the smaller model. We read 2048 as the 4 x 512 gate rows of a 512-per-direction
LSTM (PyTorch's weight shape) and use 2 x 512 = 1024 = the TCN width (the baseline's BLSTM).
``lstm_hidden`` is configurable; it must be half the TCN width.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from signdistill.losses.ctc import ctc_loss, split_labels, time_mask
from signdistill.losses.ctca import TAU, CrossModalityDistillation, g2l_loss, l2g_loss, rc_loss
from signdistill.models.baseline import (
    BaselineRecognizer,
    TemporalConv,
    frame_features,
    normalise_video,
    run_bilstm,
    temporal_length,
)
from signdistill.models.resnet import ResNet18Frames
from signdistill.models.text_encoder import GlossEmbeddings


@dataclass
class CTCAConfig:
    num_classes: int
    width: int = 64  # ResNet-18 base width (64 = the paper's SPM)
    tcn_channels: int = 1024  # Sec. 4.4
    tcn_layers: int = 3  # K
    tcn_kernel: int = 3
    lstm_hidden: int = 512  # per direction; 2 x lstm_hidden must equal tcn_channels (module docstring)
    lstm_layers: int = 2
    frame_stride: int = 2  # keep 1 frame in frame_stride (SFL frame dropping)
    attention_dim: int | None = None  # eq. 8's C; None = the BLSTM width
    tau: float = TAU
    l2g: bool = True  # Table 5 switches
    intersection: bool = True
    g2l: bool = True
    rc: bool = True
    entropy_weight: bool = True
    cmd: bool = True  # needs gloss embeddings; off without them
    weights: str | None = None  # local ImageNet ResNet-18 state dict
    # Not the paper's (its global branch is the "K = 0" TAM): k5 conv + BN + ReLU layers ("same" padding, no
    # pooling) between the SPM and the BLSTM, a diagnostic for the SDPN's stall on the gloss prior from scratch
    # (docs/methods/ctca.md). 0 = the paper's network.
    local_aggregation: int = 0
    # Not the paper's either: the baseline's K5-P2-K5-P2 (``models.baseline.TemporalConv``, to ``shared_tam``
    # channels) between the SPM and *both* branches, so that the inference path is the baseline's network and
    # the TCN and BiLSTM read the same T/4 steps. 0 = none (the paper's SDPN). With it, what CTCA's dual path
    # and distillation add to the baseline is measured at the baseline's inference cost.
    shared_tam: int = 0


class LocalTCN(nn.Module):
    """The local temporal perception branch's 1D-TCN: K x (conv k, stride 1, "same" padding, BN, ReLU)."""

    def __init__(self, in_channels: int, channels: int, layers: int = 3, kernel: int = 3) -> None:
        super().__init__()
        blocks: list[nn.Module] = []
        for i in range(layers):
            blocks += [nn.Conv1d(in_channels if i == 0 else channels, channels, kernel, padding=kernel // 2),
                       nn.BatchNorm1d(channels), nn.ReLU(inplace=True)]
        self.net = nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [B, T, C] -> [B, T, channels]
        return self.net(x.transpose(1, 2)).transpose(1, 2)


def drop_frames(video: torch.Tensor, lengths: torch.Tensor, stride: int,
                training: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """SFL-style frame dropping: keep ceil(n / stride) frames of each clip, a random sorted subset in
    training (torch's global generator, which the trainer seeds per epoch), every ``stride``-th otherwise."""
    if stride == 1:
        return video, lengths
    keep = [math.ceil(int(n) / stride) for n in lengths]
    index = torch.zeros(len(keep), max(keep), dtype=torch.long)
    for b, (n, k) in enumerate(zip(lengths.tolist(), keep, strict=True)):
        index[b, :k] = torch.randperm(n)[:k].sort().values if training else torch.arange(0, n, stride)
    rows = torch.arange(len(keep))[:, None]
    return video[rows.to(video.device), index.to(video.device)], torch.tensor(keep, device=lengths.device)


def local_aggregation(channels: int, layers: int) -> nn.Module | None:
    """``layers`` x (conv k5 "same", BN, ReLU) over [B, C, T], or None for none (``CTCAConfig.local_aggregation``)."""
    if layers <= 0:
        return None
    return nn.Sequential(*[m for _ in range(layers) for m in (nn.Conv1d(channels, channels, 5, padding=2),
                                                             nn.BatchNorm1d(channels), nn.ReLU(inplace=True))])


def encode_global(frames: ResNet18Frames, lstm: nn.LSTM, batch: dict, frame_stride: int, training: bool,
                  aggregate: nn.Module | None = None,
                  shared: TemporalConv | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Frame dropping, SPM (then the ``shared`` K5-P2-K5-P2 if any) and BLSTM: the features both branches read
    V [B, T', D_spm], V^glo [B, T', D] and lengths T'."""
    video, lengths = drop_frames(batch["video"], batch["lengths"], frame_stride, training)
    feats = frame_features(frames, normalise_video(video), lengths)
    if shared is not None:
        feats = shared(feats.transpose(1, 2)).transpose(1, 2)
        lengths = temporal_length(lengths).clamp(min=1)
        # zero past each clip's end: the TCN's "same" convs must not read it
        feats = feats * time_mask(lengths, feats.shape[1])[..., None]
    seq = feats
    if aggregate is not None:  # padding frames zeroed again so they do not leak into the valid ones' next layer
        seq = aggregate(feats.transpose(1, 2)).transpose(1, 2) * time_mask(lengths, feats.shape[1])[..., None]
    return feats, run_bilstm(lstm, seq, lengths), lengths


def output_stride(frame_stride: int, shared: TemporalConv | None) -> int:
    """Input frames per output step: frame dropping keeps 1 in ``frame_stride``, the shared K5-P2-K5-P2 pools by
    the baseline's stride."""
    return frame_stride * (BaselineRecognizer.temporal_stride if shared is not None else 1)


class GlobalPath(nn.Module):
    """SPM + BLSTM branch + global classifier: the part of CTCA that runs at test time."""

    @property
    def temporal_stride(self) -> int:
        return output_stride(self.frame_stride, self.shared)

    def __init__(self, frames: ResNet18Frames, lstm: nn.LSTM, classifier: nn.Linear, frame_stride: int,
                 aggregate: nn.Module | None = None, shared: TemporalConv | None = None) -> None:
        super().__init__()
        self.frames, self.lstm, self.classifier, self.frame_stride = frames, lstm, classifier, frame_stride
        self.aggregate, self.shared = aggregate, shared

    def forward(self, batch: dict) -> dict:
        _, v_glo, lengths = encode_global(self.frames, self.lstm, batch, self.frame_stride, self.training,
                                          self.aggregate, self.shared)
        return {"log_probs": self.classifier(v_glo).log_softmax(-1), "out_lengths": lengths}


class CTCARecognizer(nn.Module):
    """The SDPN with CTCA's losses. ``gloss_embeddings`` ([V, D] ``GlossEmbeddings``, see
    ``signdistill.models.text_encoder``) enable L_cmd; they are a buffer, saved with the checkpoint.

    ``forward`` returns the BLSTM branch's ``log_probs`` (the decoding head); with labels it also runs the
    TCN branch and returns ``loc_log_probs`` and the losses ``ctc`` (BLSTM), ``ctc_loc`` (TCN), ``l2g``,
    ``g2l``, ``rc``, ``cmd`` as switched on, unweighted (weights: the training config's ``loss_weights``).
    """

    @property
    def temporal_stride(self) -> int:
        return output_stride(self.config.frame_stride, self.shared)

    def __init__(self, config: CTCAConfig, gloss_embeddings: GlossEmbeddings | None = None) -> None:
        super().__init__()
        if config.tcn_channels != 2 * config.lstm_hidden:
            raise ValueError(f"V^loc and V^glo are distilled channel by channel: tcn_channels={config.tcn_channels} "
                             f"must equal 2 x lstm_hidden={2 * config.lstm_hidden}")
        self.config = config
        self.frames = ResNet18Frames(config.width, config.weights)
        self.shared = TemporalConv(self.frames.out_channels, config.shared_tam) if config.shared_tam else None
        branch_in = config.shared_tam or self.frames.out_channels
        self.aggregate = local_aggregation(branch_in, config.local_aggregation)
        self.lstm = nn.LSTM(branch_in, config.lstm_hidden, config.lstm_layers, bidirectional=True, batch_first=True)
        self.classifier = nn.Linear(2 * config.lstm_hidden, config.num_classes)
        self.tcn = LocalTCN(branch_in, config.tcn_channels, config.tcn_layers, config.tcn_kernel)
        self.local_classifier = nn.Linear(config.tcn_channels, config.num_classes)
        self.cmd: CrossModalityDistillation | None = None
        if config.cmd and gloss_embeddings is not None:
            if gloss_embeddings.shape[0] != config.num_classes:
                raise ValueError(f"{gloss_embeddings.shape[0]} gloss embeddings for {config.num_classes} classes")
            self.register_buffer("gloss_embeddings", gloss_embeddings.detach().float().clone())
            self.cmd = CrossModalityDistillation(gloss_embeddings.shape[1], 2 * config.lstm_hidden,
                                                 config.attention_dim)

    def export(self) -> GlobalPath:
        """The inference network (SPM + BLSTM + its classifier), sharing this model's weights."""
        return GlobalPath(self.frames, self.lstm, self.classifier, self.config.frame_stride,
                          self.aggregate, self.shared).train(self.training)

    def forward(self, batch: dict) -> dict:
        feats, v_glo, lengths = encode_global(self.frames, self.lstm, batch, self.config.frame_stride, self.training,
                                              self.aggregate, self.shared)
        log_probs = self.classifier(v_glo).log_softmax(-1)
        out = {"log_probs": log_probs, "out_lengths": lengths}
        if "labels" not in batch:
            return out
        v_loc = self.tcn(feats)
        out["loc_log_probs"] = self.local_classifier(v_loc).log_softmax(-1)
        out["losses"] = self.losses(batch, log_probs, out["loc_log_probs"], v_loc, v_glo, lengths)
        return out

    def losses(self, batch: dict, log_probs: torch.Tensor, loc_log_probs: torch.Tensor, v_loc: torch.Tensor,
               v_glo: torch.Tensor, lengths: torch.Tensor) -> dict[str, torch.Tensor]:
        c, labels, label_lengths = self.config, batch["labels"], batch["label_lengths"]
        mask = time_mask(lengths, v_glo.shape[1])
        losses = {"ctc": ctc_loss(log_probs, lengths, labels, label_lengths),
                  "ctc_loc": ctc_loss(loc_log_probs, lengths, labels, label_lengths)}
        if c.l2g:
            losses["l2g"] = l2g_loss(v_glo, v_loc, mask, c.tau, c.intersection)
        if c.g2l:
            losses["g2l"] = g2l_loss(v_loc, v_glo, mask, c.tau)
        if c.rc:
            losses["rc"] = rc_loss(v_glo, v_loc, mask, loc_log_probs, c.entropy_weight)
        if self.cmd is not None:
            gloss, gloss_mask = self.sentence_embeddings(labels, label_lengths)
            losses["cmd"] = self.cmd(gloss, gloss_mask, v_glo, mask)
        return losses

    def sentence_embeddings(self, labels: torch.Tensor,
                            label_lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """G^gls of each clip's gloss sequence, padded: [B, L_max, D] and its [B, L_max] mask."""
        parts = split_labels(labels, label_lengths)
        ids = nn.utils.rnn.pad_sequence(parts, batch_first=True) if parts else labels.new_zeros(0, 0)
        mask = time_mask(label_lengths.to(ids.device), ids.shape[1])
        return self.gloss_embeddings[ids], mask


def build_ctca(resolution: int = 224, frames: int = 200, vocab: int = 1296, channels: int = 64,
               batch: int = 1) -> tuple[nn.Module, tuple]:
    """CTCA at inference: SPM (``channels`` = ResNet base width) + BLSTM on every second frame."""
    model = CTCARecognizer(CTCAConfig(num_classes=vocab, width=channels))
    video = torch.randint(0, 255, (batch, frames, resolution, resolution, 3), dtype=torch.uint8)
    return model.export().eval(), ({"video": video, "lengths": torch.full((batch,), frames)},)
