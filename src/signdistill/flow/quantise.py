"""The project's uint8 storage of optical flow (docs/data.md, "The feature store"): 128 is zero, one step
2 * bound / 255 px."""

from __future__ import annotations

import numpy as np
import torch


def quantise_flow(flow: np.ndarray | torch.Tensor, bound: float = 20.0) -> np.ndarray | torch.Tensor:
    """Store flow as uint8: ``q = 128 + round(f * 255 / (2 bound))``, clipped to 0..255, per component.

    Convention: code 128 is exactly zero flow (the most frequent value: static background), one step is
    ``2*bound/255`` px (0.157 px for bound 20), so codes cover [-128, +127] steps = [-20.08, +19.92] px.
    Rounding (not truncation) keeps the error within half a step (0.078 px) for every |f| <= bound; values
    beyond the bound saturate. Works on numpy arrays and torch tensors alike and returns the same kind.
    """
    scale = 255.0 / (2.0 * bound)
    if isinstance(flow, torch.Tensor):
        return (torch.round(flow.float() * scale) + 128).clamp_(0, 255).to(torch.uint8)
    return np.clip(np.round(np.asarray(flow, np.float32) * np.float32(scale)) + 128, 0, 255).astype(np.uint8)


def dequantise_flow(codes: np.ndarray | torch.Tensor, bound: float = 20.0) -> np.ndarray | torch.Tensor:
    """Inverse of ``quantise_flow``: ``(q - 128) * 2 bound / 255`` px as float32."""
    step = 2.0 * bound / 255.0
    if isinstance(codes, torch.Tensor):
        return (codes.float() - 128.0) * step
    return (np.asarray(codes, np.float32) - np.float32(128.0)) * np.float32(step)
