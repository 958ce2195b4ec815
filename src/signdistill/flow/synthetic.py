"""Frame pairs with exactly known optical flow, and the end-point error against it.

The texture is procedural: a sum of random plane waves in five octaves (wavelengths 4 to 128 px, equal
energy per octave, like blurred noise at several scales). Being a closed-form function of continuous
coordinates, it can be evaluated exactly at the pre-image of every pixel of the second frame, so the
ground truth carries no interpolation error. A pair is ``img1(x) = T(x)``, ``img2(y) = T(phi^-1(y))`` with
``phi(x) = x + flow(x)``; the pre-image is found by the fixed-point iteration ``x <- y - flow(x)``, which
converges because every flow used here has a Jacobian far below 1 in norm.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

FlowFn = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]

TRANSLATIONS = (0.3, 1.0, 2.0, 4.0, 8.0, 12.0, 16.0, 20.0)
ROTATIONS = (2.0, 5.0)
FIELDS = (3.0, 8.0)  # peak displacement of the two smooth random fields, px


@dataclass(frozen=True)
class SyntheticPair:
    """One test pair: float32 [H,W] frames on the 0..255 scale and the true flow [H,W,2] (dx, dy)."""

    name: str
    img1: np.ndarray
    img2: np.ndarray
    flow: np.ndarray

    @property
    def magnitude(self) -> float:
        """Largest true displacement, px."""
        return float(np.hypot(self.flow[..., 0], self.flow[..., 1]).max())


class Texture:
    """A smooth random texture T(x, y) defined everywhere, with values roughly in 8..248."""

    def __init__(self, seed: int, waves_per_octave: int = 24, octaves: int = 5, shortest: float = 4.0) -> None:
        rng = np.random.default_rng([seed, 7])
        count = waves_per_octave * octaves
        octave = np.repeat(np.arange(octaves), waves_per_octave)
        wavelength = shortest * 2.0 ** (octave + rng.random(count))
        angle = rng.uniform(0, 2 * math.pi, count)
        self.kx = 2 * math.pi * np.cos(angle) / wavelength
        self.ky = 2 * math.pi * np.sin(angle) / wavelength
        self.phase = rng.uniform(0, 2 * math.pi, count)
        self.amp = np.full(count, 1.0 / math.sqrt(waves_per_octave))
        self.gain = 1.0

    def __call__(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        arg = x[..., None] * self.kx + y[..., None] * self.ky + self.phase
        return 128.0 + self.gain * (np.cos(arg) @ self.amp)

    def fit_range(self, size: int) -> Texture:
        """Scale the contrast so that a size x size frame spans about 8..248 without clipping."""
        ys, xs = np.mgrid[0:size, 0:size].astype(np.float64)
        self.gain = 1.0
        self.gain = 120.0 / np.abs(self(xs, ys) - 128.0).max()
        return self


def translation(dx: float, dy: float) -> FlowFn:
    """A constant flow (dx, dy)."""
    return lambda x, y: (np.full_like(x, dx), np.full_like(y, dy))


def rotation(degrees: float, cx: float, cy: float) -> FlowFn:
    """The flow of a rotation by ``degrees`` about (cx, cy)."""
    c, s = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))

    def flow(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rx, ry = x - cx, y - cy
        return c * rx - s * ry - rx, s * rx + c * ry - ry

    return flow


def smooth_field(peak: float, size: int, seed: int, waves: int = 4) -> FlowFn:
    """A smooth random flow: a few plane waves per component, wavelengths 0.5-1.5x the frame size,
    scaled so that the largest displacement on the frame is ``peak`` px."""
    rng = np.random.default_rng([seed, 11])
    wavelength = size * rng.uniform(0.5, 1.5, (2, waves))
    angle = rng.uniform(0, 2 * math.pi, (2, waves))
    kx, ky = 2 * math.pi * np.cos(angle) / wavelength, 2 * math.pi * np.sin(angle) / wavelength
    phase = rng.uniform(0, 2 * math.pi, (2, waves))

    def raw(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        parts = [np.cos(x[..., None] * kx[c] + y[..., None] * ky[c] + phase[c]).sum(-1) for c in range(2)]
        return parts[0], parts[1]

    ys, xs = np.mgrid[0:size, 0:size].astype(np.float64)
    gain = peak / np.hypot(*raw(xs, ys)).max()
    return lambda x, y: tuple(gain * c for c in raw(x, y))


def make_pair(name: str, flow_fn: FlowFn, size: int, seed: int = 0) -> SyntheticPair:
    """Render ``img1 = T`` and ``img2 = T o phi^-1`` on a size x size grid, with the exact flow of img1."""
    texture = Texture(seed).fit_range(size)
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float64)
    px, py = xs.copy(), ys.copy()
    for _ in range(100):  # pre-image of each pixel y of img2: x = y - flow(x)
        fx, fy = flow_fn(px, py)
        nx, ny = xs - fx, ys - fy
        shift = max(np.abs(nx - px).max(), np.abs(ny - py).max())
        px, py = nx, ny
        if shift < 1e-9:
            break
    fx, fy = flow_fn(xs, ys)
    return SyntheticPair(name, texture(xs, ys).astype(np.float32), texture(px, py).astype(np.float32),
                         np.stack((fx, fy), axis=-1).astype(np.float32))


def standard_cases(size: int, seed: int = 0) -> list[SyntheticPair]:
    """The benchmark's cases: translations 0.3-20 px at 30 degrees, rotations 2 and 5 degrees about the
    centre, and two smooth random fields (peaks 3 and 8 px)."""
    angle = math.radians(30.0)
    cases = [make_pair(f"translate {t:g}px", translation(t * math.cos(angle), t * math.sin(angle)), size, seed)
             for t in TRANSLATIONS]
    centre = (size - 1) / 2.0
    cases += [make_pair(f"rotate {d:g}deg", rotation(d, centre, centre), size, seed + 1) for d in ROTATIONS]
    cases += [make_pair(f"field {k} ({peak:g}px)", smooth_field(peak, size, seed + k), size, seed + 2 + k)
              for k, peak in enumerate(FIELDS)]
    return cases


def epe(flow: np.ndarray | torch.Tensor, truth: np.ndarray | torch.Tensor, margin: int = 0) -> float:
    """Mean end-point error |flow - truth| over pixels at least ``margin`` px from the border whose true
    target ``x + truth(x)`` also lies inside the frame (pixels that leave the frame have no data to match,
    so no method can be judged there). Both flows are [..., H, W, 2]."""
    f = flow.detach().cpu().numpy() if isinstance(flow, torch.Tensor) else np.asarray(flow)
    t = truth.detach().cpu().numpy() if isinstance(truth, torch.Tensor) else np.asarray(truth)
    height, width = t.shape[-3:-1]
    ys, xs = np.mgrid[0:height, 0:width]
    tx, ty = xs + t[..., 0], ys + t[..., 1]
    mask = (tx >= margin) & (tx <= width - 1 - margin) & (ty >= margin) & (ty <= height - 1 - margin)
    mask &= (xs >= margin) & (xs <= width - 1 - margin) & (ys >= margin) & (ys <= height - 1 - margin)
    err = np.hypot(f[..., 0] - t[..., 0], f[..., 1] - t[..., 1])
    mask = np.broadcast_to(mask, err.shape)
    return float(err[mask].mean()) if mask.any() else float("nan")
