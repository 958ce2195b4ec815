"""SignKD's heads (sec. 3.1) and sign pyramid network (appendix C).

- *Heads* (sec. 3.1): Linear -> BN -> ReLU -> [Conv1d k3 -> BN -> ReLU] x 2 -> Linear -> ReLU -> classifier,
  hidden 512 at width 1.0 (scaled with the width by default).
- *SPN* (appendix C): top-down over blocks 2-4 of each stream after fusion, p3 = f3 + Up(f4) and
  p2 = f2 + Up(p3), with TwoStream-SLR's upsampling (which SignKD's SPN builds on): transposed conv 1x3x3
  (space x2) then 3x1x1 (time x2 for block 4 -> 3, x1 for 3 -> 2), each with BN and ReLU. Each level is
  spatially pooled into its own head; auxiliary CTC at T/2 on both levels of every stream, summed into
  ``spn``. The SPN runs only when the batch has labels (training), so inference cost excludes it.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from signdistill.models.s3d import pool_sequence


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
