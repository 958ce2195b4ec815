"""SignKD's fusion modules (appendix B): after S3D block i of every stream, fusion stage M_i mixes the streams.

Choices where the paper is open:

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
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

FUSIONS = ("mlp", "attention", "conv", "none")


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
