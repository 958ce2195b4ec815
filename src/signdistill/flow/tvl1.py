"""TV-L1 optical flow (Zach, Pock & Bischof 2007; Wedel et al. 2009), batched in plain torch.

The scheme follows the description of Sánchez Pérez, Meinhardt-Llopis & Facciolo, "TV-L1 Optical Flow
Estimation", IPOL 2013: per pyramid level and per warp, the data term is linearised around the current
flow ``u0`` (``rho(u) = I1(x+u0) + grad I1(x+u0).(u-u0) - I0(x)``), then the coupled problem is solved by
alternating

1. the pointwise thresholding step ``v = u + clamp(-rho/|grad I1|^2, -lambda*theta, lambda*theta) grad I1``
   (the three cases of the paper written as one clamp),
2. the primal update ``u = v + theta div p`` and
3. Chambolle's dual projection ``p = (p + tau/theta grad u) / (1 + tau/theta |grad u|)``,

until the mean squared change of ``u`` in one iteration drops below ``epsilon^2`` (or an iteration cap).
Levels are built coarse-to-fine with a zoom factor of 0.5 down to about 16 px, image gradients are
central differences of ``I1`` warped with the flow (Keys bicubic, as IPOL, or bilinear), and an optional
median filter of the flow after each warp (Wedel et al.) removes outliers.

On a CPU, prefer one torch thread per process and several processes over intra-op threads: the solver
runs ~20 small elementwise ops per iteration, which gain little from threads (``signdistill bench flow``
times both).

Everything works on a batch of frame pairs at once (``[B,H,W]`` float32 in, ``[B,H,W,2]`` (dx, dy) in
pixels out) and runs unchanged on CPU and CUDA; each pair stops iterating on its own criterion, so a
pair's flow does not depend on the other pairs of its batch.

Modules: the parameters and why they are what they are (``flow.tvl1_params``), one pyramid level's solver
(``flow.tvl1_level``), the image sampling it warps with (``flow.imaging``); ``opencv_tvl1_flow`` here wraps
``cv2.optflow.DualTVL1OpticalFlow`` with OpenCV's defaults as the reference, and ``flow.quantise`` holds the
project's uint8 storage of flow (docs/data.md, "The feature store").
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np
import torch

from signdistill.flow.imaging import gaussian, resample
from signdistill.flow.tvl1_level import solve_level
from signdistill.flow.tvl1_params import TVL1Params

_MEMORY_CHUNKS = 16  # the pyramids of up to this many solver chunks are built at once (bounded memory)


def tvl1_flow(img1: torch.Tensor, img2: torch.Tensor, *, params: TVL1Params | None = None,
              **overrides: Any) -> torch.Tensor:
    """TV-L1 flow from ``img1`` to ``img2``: ``img1(x) ~ img2(x + flow(x))``.

    ``img1``/``img2``: ``[B,H,W]`` (or one ``[H,W]`` pair) grayscale intensities, any float or integer
    dtype, on any device. Returns float32 ``[B,H,W,2]`` (or ``[H,W,2]``) with (dx, dy) in pixels.
    Parameters come from ``params`` (default ``TVL1Params()``) with keyword ``overrides`` on top, e.g.
    ``tvl1_flow(a, b, warps=3, median=5)``.
    """
    p = replace(params or TVL1Params(), **overrides)
    if img1.shape != img2.shape or img1.dim() not in (2, 3):
        raise ValueError(f"expected two [B,H,W] or [H,W] images of one shape, got {img1.shape} and {img2.shape}")
    single = img1.dim() == 2
    a = (img1[None] if single else img1).to(torch.float32)
    b = (img2[None] if single else img2).to(device=a.device, dtype=torch.float32)
    batch, height, width = a.shape
    out = torch.empty(batch, height, width, 2, device=a.device, dtype=torch.float32)
    step = max(1, _MEMORY_CHUNKS * p.solver_pixels(a.device) // (height * width))
    with torch.no_grad():
        for start in range(0, batch, step):
            flow = _flow_batch(a[start:start + step], b[start:start + step], p)
            out[start:start + step] = flow.permute(0, 2, 3, 1)
    return out[0] if single else out


# --- pyramid -------------------------------------------------------------------------------------------


def _flow_batch(a: torch.Tensor, b: torch.Tensor, p: TVL1Params) -> torch.Tensor:
    """Coarse-to-fine flow [B,2,H,W]; each level is solved in chunks of ``solver_pixels`` pixels, so the
    small coarse levels run as one big batch (few op launches) and the fine ones stay cache-sized."""
    if p.normalise:
        a, b = _normalise_pair(a, b)
    if p.presmooth > 0:
        a, b = gaussian(a, p.presmooth), gaussian(b, p.presmooth)
    levels = p.num_scales(a.shape[-2], a.shape[-1])
    pyr0, pyr1 = _pyramid(a, levels, p), _pyramid(b, levels, p)
    u = a.new_zeros(a.shape[0], 2, *pyr0[-1].shape[-2:])
    for level in reversed(range(levels)):
        height, width = pyr0[level].shape[-2:]
        if u.shape[-2:] != (height, width):
            u = resample(u, height, width, step=p.zoom, mode=p.interpolation) / p.zoom
        warps = p.warps if level or p.finest_warps is None else p.finest_warps
        step = max(1, p.solver_pixels(a.device) // (height * width))
        u = torch.cat([solve_level(pyr0[level][i:i + step], pyr1[level][i:i + step], u[i:i + step], warps, p)
                       for i in range(0, u.shape[0], step)])
    return u


def _normalise_pair(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Rescale each pair jointly to 0..255 (IPOL), so that lambda has one meaning for any input range."""
    lo = torch.minimum(a.amin((1, 2)), b.amin((1, 2)))[:, None, None]
    hi = torch.maximum(a.amax((1, 2)), b.amax((1, 2)))[:, None, None]
    scale = torch.where(hi > lo, 255.0 / (hi - lo), torch.ones_like(hi))
    return (a - lo) * scale, (b - lo) * scale


def _pyramid(img: torch.Tensor, levels: int, p: TVL1Params) -> list[torch.Tensor]:
    """Levels finest first; each is blurred with sigma 0.6*sqrt(1/zoom^2 - 1) then sampled every 1/zoom px."""
    sigma = 0.6 * math.sqrt(1.0 / p.zoom**2 - 1.0)
    pyr = [img]
    for _ in range(levels - 1):
        prev = pyr[-1]
        height, width = (int(n * p.zoom + 0.5) for n in prev.shape[-2:])
        smooth = gaussian(prev, sigma)
        stride = round(1.0 / p.zoom)
        if abs(stride * p.zoom - 1.0) < 1e-9:  # integer positions: sampling is plain subsampling
            pyr.append(smooth[:, ::stride, ::stride][:, :height, :width].contiguous())
        else:
            pyr.append(resample(smooth[:, None], height, width, step=1.0 / p.zoom, mode=p.interpolation)[:, 0])
    return pyr


# --- reference -----------------------------------------------------------------------------------------


def opencv_tvl1_flow(img1: np.ndarray, img2: np.ndarray) -> np.ndarray:
    """Reference: ``cv2.optflow.DualTVL1OpticalFlow`` with all of OpenCV's defaults, [H,W,2] float32.

    uint8 frames go in as they are; float frames are taken as intensities on the 0..255 scale and passed
    as float32 / 255 (OpenCV multiplies float input by 255), so no precision is lost to rounding.
    """
    import cv2

    a, b = np.asarray(img1), np.asarray(img2)
    if a.dtype != np.uint8:
        a, b = (np.ascontiguousarray(x, dtype=np.float32) / np.float32(255.0) for x in (a, b))
    return cv2.optflow.DualTVL1OpticalFlow_create().calc(a, b, None)


