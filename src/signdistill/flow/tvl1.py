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
runs ~20 small elementwise ops per iteration, and on an oversubscribed 2-core machine two OpenMP threads
were 2.5x slower than two one-thread processes (``signdistill bench flow`` measures both).

Everything works on a batch of frame pairs at once (``[B,H,W]`` float32 in, ``[B,H,W,2]`` (dx, dy) in
pixels out) and runs unchanged on CPU and CUDA; each pair stops iterating on its own criterion, so a
pair's flow does not depend on the other pairs of its batch.

``opencv_tvl1_flow`` wraps ``cv2.optflow.DualTVL1OpticalFlow`` with OpenCV's defaults as the reference, and
``quantise_flow`` / ``dequantise_flow`` implement the project's uint8 storage of flow (design.md, "Flow").
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

_GRAD_IS_ZERO = 1e-10  # below this |grad I1|^2 the data term carries no direction: leave v = u (IPOL)


@dataclass(frozen=True)
class TVL1Params:
    """Every knob of ``tvl1_flow``, with the reason for its default.

    Model (the IPOL and OpenCV values, so that the flow means what TV-L1 flow usually means):

    - ``tau=0.25``: time step of Chambolle's dual projection. The proof asks tau <= 1/8; 1/4 is the
      largest step that still converges in practice (IPOL, OpenCV), so the fastest.
    - ``lambda_=0.15``: weight of the L1 data term against TV, for intensities on the 0..255 scale (see
      ``normalise``); smaller gives smoother flow. The trailing underscore only dodges the keyword.
    - ``theta=0.3``: coupling of the split variables u and v (the thresholding works within
      +-lambda*theta*|grad I1| of the linearised constraint).

    Pyramid (OpenCV's 5 levels x 0.8 stop at 0.41 of the frame and so lose motions beyond ~6-8 px at
    224 px - hands move faster; the IPOL pyramid goes down to ~16 px):

    - ``zoom=0.5``: scale between levels (IPOL). Each level halves the motion: 20 px at 224 px is 1.25 px
      at the 14 px coarsest level, inside the range of the linearisation. Levels are Gaussian-blurred
      with sigma 0.6*sqrt(1/zoom^2 - 1) before subsampling, as in IPOL.
    - ``coarsest=16``: IPOL's rule for the number of levels, ``1 + log(hypot(H, W)/16)/log(1/zoom)``:
      4 levels at 112 px, 5 at 224 px, the coarsest 14 x 14.
    - ``max_scales=12``: a cap on that count; only reached by frames over 30k px wide.
    - ``presmooth=0.0``: sigma of a Gaussian on both inputs before everything (IPOL uses 0.8, OpenCV none).
      Off: at 112 px, 0.8 trims 0.005 px off the synthetic shifts but worsens the smooth fields (8 px
      field 0.100 -> 0.138 px EPE), and on SynthSign it raises the noise of static regions (mean |flow|
      0.052 -> 0.086 px) and moves moving pixels by 0.44 px away from the converged solution.
    - ``interpolation="bicubic"``: warping of I1 and its gradients and upsampling of the flow with Keys'
      cubic a = -0.5 (IPOL's kernel; OpenCV and ``grid_sample`` use a = -0.75, which doubles the EPE of
      sub-pixel shifts). "bilinear" is cheaper, but worse on rotations.

    Solver (the tuned part: speed at equal or better accuracy than OpenCV; numbers measured with
    ``signdistill.benchmarks.flow``'s cases, whose ``signdistill bench flow`` prints the current ones):

    - ``warps=5``: re-linearisations per level (IPOL and OpenCV). Large motions need them: a 20 px shift
      at 112 px has EPE 0.015 px with 5 warps, 0.086 with 4 and 0.43 with 3.
    - ``finest_warps=None``: warps on the finest level only (None = ``warps``). The finest level is 3/4
      of the work, so 2 here is a ~1.5x faster setting that keeps the synthetic EPE within 0.005 px but
      leaves more noise in static regions of real frames (SynthSign 112 px: mean |flow| 0.075 against
      0.052 px where nothing moves) and a worse photometric residual (1.85 against 1.74).
    - ``epsilon=0.01``: a warp stops when the mean squared change of u in one iteration is below
      ``epsilon**2`` px^2 (IPOL, OpenCV), checked per pair.
    - ``max_iterations=30``: cap per warp (IPOL 300, OpenCV 10 x 30 per warp). ``epsilon`` ends most
      warps before it; the cap binds on the finest levels of moving content. Against a run with 300
      (SynthSign 112 px) it moves moving pixels by 0.17 px (OpenCV differs from that run by 0.59 px) for
      0.8 of the work, and leaves every synthetic EPE unchanged to 0.001 px. 20 saves another 20% of
      the work at 0.21 px and more static noise.
    - ``check_every=5``: the stopping test runs every this many iterations (it costs a copy, a reduction
      and, on CUDA, a host sync); a pair may run up to 4 more iterations than IPOL's test, never fewer.
    - ``median=0``: size of a median filter of the flow after each warp (Wedel et al. 2009; OpenCV uses
      5 inside its loop). Off: at 112 px a 5 x 5 median erases the motion of thin fingers (photometric
      residual on SynthSign 1.74 -> 2.16) and doubles the run time. 0 disables it, else odd >= 3.

    Engineering:

    - ``normalise=True``: stretch each pair jointly to 0..255 (IPOL), so that ``lambda_`` means the same
      for frames given in 0..1, 0..255 or any other range.
    - ``chunk_pixels=None``: each level is solved in chunks of about this many pixels, so that the
      working set (~20 float planes per pair) stays near the cache while each op is big enough to
      amortise its launch; ``None`` is 2**18 on CPU (2**16..2**18 were fastest of 2**14..2**20 on a 2-core
      Xeon) and 2**26 on CUDA. Chunking never changes the result.
    - ``compile=False``: run the iteration through ``torch.compile`` (an out-of-place twin of the eager
      step that fuses its ~20 elementwise ops). Off: it needs a C++/Triton toolchain, compiles for ~40 s,
      and on the 2-core CPU it was no faster than the eager in-place ops; it is meant for CUDA.
    """

    tau: float = 0.25
    lambda_: float = 0.15
    theta: float = 0.3
    zoom: float = 0.5
    coarsest: int = 16
    max_scales: int = 12
    presmooth: float = 0.0
    interpolation: str = "bicubic"
    warps: int = 5
    finest_warps: int | None = None
    epsilon: float = 0.01
    max_iterations: int = 30
    check_every: int = 5
    median: int = 0
    normalise: bool = True
    chunk_pixels: int | None = None
    compile: bool = False

    def __post_init__(self) -> None:
        if not 0.0 < self.zoom < 1.0:
            raise ValueError(f"zoom must be in (0, 1), got {self.zoom}")
        if self.interpolation not in ("bicubic", "bilinear"):
            raise ValueError(f"interpolation must be 'bicubic' or 'bilinear', got {self.interpolation!r}")
        if self.median and (self.median < 3 or self.median % 2 == 0):
            raise ValueError(f"median must be 0 or an odd kernel size >= 3, got {self.median}")
        if min(self.tau, self.lambda_, self.theta, self.epsilon) <= 0:
            raise ValueError("tau, lambda_, theta and epsilon must be positive")
        counts = (self.warps, self.finest_warps or 1, self.max_iterations, self.check_every, self.coarsest,
                  self.max_scales)
        if min(counts) < 1:
            raise ValueError("warps, finest_warps, max_iterations, check_every, coarsest, max_scales must be >= 1")

    def num_scales(self, height: int, width: int) -> int:
        """Pyramid levels for a frame size: the coarsest level's diagonal stays >= ``coarsest`` (IPOL)."""
        ratio = math.hypot(height, width) / self.coarsest
        if ratio <= 1.0:
            return 1
        return max(1, min(self.max_scales, 1 + int(math.log(ratio) / math.log(1.0 / self.zoom))))

    def solver_pixels(self, device: torch.device) -> int:
        """Pixels that go through the solver together: cache-sized on CPU, everything on CUDA."""
        return self.chunk_pixels or (2**18 if device.type == "cpu" else 2**26)


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
        a, b = _gaussian(a, p.presmooth), _gaussian(b, p.presmooth)
    levels = p.num_scales(a.shape[-2], a.shape[-1])
    pyr0, pyr1 = _pyramid(a, levels, p), _pyramid(b, levels, p)
    u = a.new_zeros(a.shape[0], 2, *pyr0[-1].shape[-2:])
    for level in reversed(range(levels)):
        height, width = pyr0[level].shape[-2:]
        if u.shape[-2:] != (height, width):
            u = _resample(u, height, width, step=p.zoom, mode=p.interpolation) / p.zoom
        warps = p.warps if level or p.finest_warps is None else p.finest_warps
        step = max(1, p.solver_pixels(a.device) // (height * width))
        u = torch.cat([_solve_level(pyr0[level][i:i + step], pyr1[level][i:i + step], u[i:i + step], warps, p)
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
        smooth = _gaussian(prev, sigma)
        stride = round(1.0 / p.zoom)
        if abs(stride * p.zoom - 1.0) < 1e-9:  # integer positions: sampling is plain subsampling
            pyr.append(smooth[:, ::stride, ::stride][:, :height, :width].contiguous())
        else:
            pyr.append(_resample(smooth[:, None], height, width, step=1.0 / p.zoom, mode=p.interpolation)[:, 0])
    return pyr


def _replicate_pad(x: torch.Tensor, radius: int) -> torch.Tensor:
    """Pad the last two dims by repeating the border pixels (gathers: cheaper than F.pad's replicate on CPU)."""
    height, width = x.shape[-2:]
    rows = torch.arange(-radius, height + radius, device=x.device).clamp_(0, height - 1)
    cols = torch.arange(-radius, width + radius, device=x.device).clamp_(0, width - 1)
    return x.index_select(-2, rows).index_select(-1, cols)


def _gaussian(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur over the last two dims with replicated borders (radius 3 sigma)."""
    radius = max(1, math.ceil(3 * sigma))
    taps = [math.exp(-0.5 * (t / sigma) ** 2) for t in range(-radius, radius + 1)]
    taps = [t / sum(taps) for t in taps]
    padded = _replicate_pad(x, radius)
    height, width = x.shape[-2:]
    rows = sum(w * padded[..., :, k:k + width] for k, w in enumerate(taps))
    return sum(w * rows[..., k:k + height, :] for k, w in enumerate(taps))


def _base_grid(height: int, width: int, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    ys = torch.arange(height, device=like.device, dtype=like.dtype)
    xs = torch.arange(width, device=like.device, dtype=like.dtype)
    return ys[:, None].expand(height, width), xs[None, :].expand(height, width)


def _sample(x: torch.Tensor, px: torch.Tensor, py: torch.Tensor, mode: str) -> torch.Tensor:
    """Sample [N,C,H,W] at pixel coordinates [N,h,w] with replicated borders (IPOL's Neumann condition)."""
    if mode == "bicubic":
        return _sample_keys(x, px, py)
    height, width = x.shape[-2:]
    grid = torch.stack((px * (2.0 / max(width - 1, 1)) - 1.0, py * (2.0 / max(height - 1, 1)) - 1.0), dim=-1)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=True)


def _keys_weights(t: torch.Tensor) -> torch.Tensor:
    """Weights [4,...] of the taps at -1, 0, 1, 2 for a fractional offset t (Keys' cubic, a = -0.5)."""
    t2, t3 = t * t, t * t * t
    return 0.5 * torch.stack((-t3 + 2 * t2 - t, 3 * t3 - 5 * t2 + 2, -3 * t3 + 4 * t2 + t, t3 - t2))


def _sample_keys(x: torch.Tensor, px: torch.Tensor, py: torch.Tensor) -> torch.Tensor:
    """Bicubic sampling with Keys' kernel a = -0.5 (Catmull-Rom), the one IPOL uses.

    Not ``F.grid_sample(mode="bicubic")``: its a = -0.75 (OpenCV's INTER_CUBIC too) is not exact for
    quadratics and biases sub-pixel warps; on the synthetic cases a = -0.5 halves the EPE of small
    translations and rotations (0.3 px shift at 112 px: 0.039 -> 0.020 px). Coordinates are clamped to
    the frame (as ``grid_sample``'s border mode) and the image is replicate-padded, so the 16 taps are 16
    fixed offsets of one base index: each tap is one gather from a shifted view, with no index arithmetic.
    """
    n, c, height, width = x.shape
    hw = px[0].numel()
    px, py = px.clamp(0, width - 1), py.clamp(0, height - 1)
    x0, y0 = px.floor(), py.floor()
    wx, wy = _keys_weights(px - x0).view(4, n, 1, hw), _keys_weights(py - y0).view(4, n, 1, hw)
    row = width + 3
    flat = _replicate_pad(x, 2)[..., 1:, 1:].reshape(n, c, -1)  # 1 pixel before, 2 after
    base = (y0 * row + x0).long().view(n, 1, hw).expand(n, c, hw)
    out, acc = x.new_zeros(n, c, hw), x.new_empty(n, c, hw)
    for i in range(4):
        acc.zero_()
        for j in range(4):
            acc.addcmul_(flat[..., i * row + j:].gather(2, base), wx[j])
        out.addcmul_(acc, wy[i])
    return out.view(n, c, *px.shape[-2:])


def _resample(x: torch.Tensor, height: int, width: int, step: float, mode: str) -> torch.Tensor:
    """Resize [N,C,H,W] by sampling output pixel (i, j) at input position (i*step, j*step), IPOL's grid."""
    ys, xs = _base_grid(height, width, x)
    n = x.shape[0]
    return _sample(x, (xs * step).expand(n, -1, -1), (ys * step).expand(n, -1, -1), mode)


def _central_gradient(img: torch.Tensor) -> torch.Tensor:
    """[B,H,W] -> [B,2,H,W] (d/dx, d/dy) by central differences, one-sided half differences at borders."""
    padded = _replicate_pad(img, 1)
    dx = 0.5 * (padded[:, 1:-1, 2:] - padded[:, 1:-1, :-2])
    dy = 0.5 * (padded[:, 2:, 1:-1] - padded[:, :-2, 1:-1])
    return torch.stack((dx, dy), dim=1)


def _median(u: torch.Tensor, size: int) -> torch.Tensor:
    """Median filter of each flow component [B,2,H,W] over size x size windows (replicated borders)."""
    r = size // 2
    out = torch.empty_like(u)
    for k in range(u.shape[1]):
        windows = _replicate_pad(u[:, k], r).unfold(1, size, 1).unfold(2, size, 1)
        out[:, k] = windows.reshape(*windows.shape[:3], -1).median(dim=-1).values
    return out


# --- one level -----------------------------------------------------------------------------------------


class _Layout:
    """Flat, zero-padded storage of [B,C,H,W] planes, so that every solver op is one contiguous 1-D op.

    Each plane is stored as (H+1) x (W+1) with a zero last row and column, planes follow each other, and
    the buffer has ``margin`` zeros before and after. Shifting by one pixel in x (y) is then an offset of
    1 (W+1) elements in the flat buffer: reads that run off a row, a plane or the buffer land on zeros or
    on positions whose result is reset to zero, which gives IPOL's boundary conditions exactly (forward
    differences of u are 0 on the last column/row, the dual is 0 there, divergence of p uses p = 0 outside).
    """

    def __init__(self, height: int, width: int) -> None:
        self.height, self.width = height, width
        self.row = width + 1
        self.plane = (height + 1) * self.row
        self.margin = self.row + 1

    def pack(self, x: torch.Tensor) -> torch.Tensor:
        """[B,C,H,W] -> a fresh margin-padded buffer; returns its body view [B,C,plane]."""
        batch, channels = x.shape[:2]
        body = self.empty(batch, channels, x)
        body.view(batch, channels, self.height + 1, self.row)[..., :self.height, :self.width] = x
        return body

    def empty(self, batch: int, channels: int, like: torch.Tensor) -> torch.Tensor:
        """A zeroed margin-padded buffer; returns its body view [B,C,plane]."""
        n = batch * channels * self.plane
        buf = like.new_zeros(n + 2 * self.margin)
        return buf[self.margin:self.margin + n].view(batch, channels, self.plane)

    def unpack(self, body: torch.Tensor) -> torch.Tensor:
        """[B,C,plane] -> [B,C,H,W] view of the pixels."""
        return body.view(*body.shape[:2], self.height + 1, self.row)[..., :self.height, :self.width]

    def masks(self, like: torch.Tensor) -> torch.Tensor:
        """[2, plane] 0/1: where forward differences in x (y) are kept; 0 on the last two columns (rows)."""
        grid = like.new_ones(2, self.height + 1, self.row)
        grid[0, :, self.width - 1:] = 0
        grid[1, self.height - 1:] = 0
        return grid.view(2, self.plane)

    @staticmethod
    def shifted(body: torch.Tensor, first: int, count: int, offset: int) -> torch.Tensor:
        """View of channels ``first:first+count`` of a packed body, moved by ``offset`` flat elements."""
        batch, channels, plane = body.shape
        return body.as_strided((batch, count, plane), (channels * plane, plane, 1),
                               body.storage_offset() + first * plane + offset)


def _solve_level(i0: torch.Tensor, i1: torch.Tensor, u: torch.Tensor, warps: int, p: TVL1Params) -> torch.Tensor:
    """Warps x (linearise the data term at u, iterate) on one pyramid level; u is [B,2,H,W]."""
    batch, _, height, width = u.shape
    layout = _Layout(height, width)
    images = torch.cat((i1[:, None], _central_gradient(i1)), dim=1)  # I1, dI1/dx, dI1/dy
    ys, xs = _base_grid(height, width, u)
    # per pair: u1, u2, then theta*p for (u1, u2) x-parts, then (u1, u2) y-parts; the dual starts at 0
    state = layout.pack(torch.cat((u, u.new_zeros(batch, 4, height, width)), dim=1))
    flow = layout.unpack(state)[:, :2]
    for _ in range(warps):
        warped = _sample(images, xs + flow[:, 0], ys + flow[:, 1], p.interpolation)
        grad = warped[:, 1:]
        norm2 = (grad * grad).sum(1, keepdim=True)
        neg_inv = torch.where(norm2 > _GRAD_IS_ZERO, -1.0 / norm2.clamp_min(_GRAD_IS_ZERO), 0.0)
        rho_c = warped[:, :1] - i0[:, None] - (grad * flow).sum(1, keepdim=True)
        constants = layout.pack(torch.cat((grad, rho_c, neg_inv), dim=1))
        _iterate(state, constants, layout, p)
        if p.median:
            flow.copy_(_median(flow, p.median))
    return flow.clone()


def _iterate(state: torch.Tensor, constants: torch.Tensor, layout: _Layout, p: TVL1Params) -> None:
    """Fixed-point iterations of one warp, in place on ``state``; pairs that meet epsilon leave the batch
    (and stop costing), so each pair's result is independent of the rest of its batch."""
    solver = _Solver(state, constants, layout, p)
    index = torch.arange(state.shape[0], device=state.device)
    limit = p.epsilon**2 * layout.height * layout.width
    done = 0
    while done < p.max_iterations:
        block = min(p.check_every, p.max_iterations - done)
        for _ in range(block - 1):
            solver.step()
        previous = solver.flow.clone()
        solver.step()
        done += block
        running = (solver.flow - previous).square_().sum((1, 2)) > limit
        if done >= p.max_iterations or bool(running.all()):
            continue
        solver.write_back(state, index)
        index = index[running]
        if index.numel() == 0:
            return
        solver = _Solver(solver.state[running], solver.constants[running], layout, p)
    solver.write_back(state, index)


class _Solver:
    """Views and scratch buffers of one warp's iterations for the pairs still running."""

    def __init__(self, state: torch.Tensor, constants: torch.Tensor, layout: _Layout, p: TVL1Params) -> None:
        if state.storage_offset() != layout.margin:  # a subset after some pairs stopped: re-pad it
            state = _copy_packed(state, layout)
        self.state, self.constants, self.layout = state, constants, layout
        self.lt, self.tau, self.tau_theta = p.lambda_ * p.theta, p.tau, p.tau / p.theta
        self.compiled = _compiled_step() if p.compile else None
        self.flow = state[:, :2]
        row = layout.row
        shifted = _Layout.shifted
        self.views = (self.flow, shifted(state, 0, 2, 1), shifted(state, 0, 2, row),
                      state[:, 2:4], shifted(state, 2, 2, -1), state[:, 4:6], shifted(state, 4, 2, -row),
                      constants[:, :2], constants[:, 2], constants[:, 3])
        batch = state.shape[0]
        self.scratch = tuple(state.new_empty(batch, n, layout.plane) for n in (1, 1, 2, 2, 2, 2))

    def step(self) -> None:
        height, width = self.layout.height, self.layout.width
        if self.compiled is None:
            _step(self.views, self.scratch, height, width, self.lt, self.tau, self.tau_theta)
            return
        buf = self.state.as_strided((self.state.numel() + 2 * self.layout.margin,), (1,), 0)
        self.state.copy_(self.compiled(buf, self.constants, self.layout.masks(self.state), height, width,
                                       self.lt, self.tau, self.tau_theta))

    def write_back(self, state: torch.Tensor, index: torch.Tensor) -> None:
        if self.state.data_ptr() != state.data_ptr():
            state.index_copy_(0, index, self.state)


def _copy_packed(body: torch.Tensor, layout: _Layout) -> torch.Tensor:
    fresh = layout.empty(body.shape[0], body.shape[1], body)
    fresh.copy_(body)
    return fresh


def _step(views: tuple[torch.Tensor, ...], scratch: tuple[torch.Tensor, ...], height: int, width: int,
          lt: float, tau: float, tau_theta: float) -> None:
    """One TV-L1 iteration in place: thresholding, primal update, dual projection (~20 flat tensor ops).

    ``q = theta * p`` is stored instead of p, which removes the theta factor from the primal update.
    """
    u, u_right, u_down, qx, qx_left, qy, qy_up, grad, rho_c, neg_inv = views
    rho, coef, div, gx, gy, norm = scratch
    # thresholding: v = u + clamp(-rho/|grad I1|^2, -lambda theta, lambda theta) grad I1
    torch.addcmul(rho_c, grad[:, 0], u[:, 0], out=rho[:, 0])
    rho.addcmul_(grad[:, 1:], u[:, 1:])
    torch.mul(rho, neg_inv[:, None], out=coef).clamp_(-lt, lt)
    # primal: u = v + div q (backward differences; q is 0 outside the frame)
    torch.sub(qx, qx_left, out=div).add_(qy).sub_(qy_up)
    u.addcmul_(coef, grad).add_(div)
    # dual: q = (q + tau grad u) / (1 + tau/theta |grad u|); forward differences are 0 on the far border
    torch.sub(u_right, u, out=gx)
    gx.view(-1, height + 1, width + 1)[..., width - 1:].zero_()
    torch.sub(u_down, u, out=gy)
    gy.view(-1, height + 1, width + 1)[:, height - 1:].zero_()
    torch.mul(gx, gx, out=norm).addcmul_(gy, gy).sqrt_()  # torch.hypot is ~8x slower on CPU
    norm.mul_(tau_theta).add_(1.0)
    qx.add_(gx, alpha=tau).div_(norm)
    qy.add_(gy, alpha=tau).div_(norm)


def _step_pure(buf: torch.Tensor, constants: torch.Tensor, masks: torch.Tensor, height: int, width: int,
               lt: float, tau: float, tau_theta: float) -> torch.Tensor:
    """Out-of-place twin of ``_step`` for ``torch.compile``, which must not see in-place writes through
    overlapping views; returns the new packed state [B,6,plane] (same arithmetic, same order)."""
    batch, _, plane = constants.shape
    row, margin, n = width + 1, width + 2, batch * 6 * plane

    def view(offset: int) -> torch.Tensor:
        return buf[margin + offset:margin + offset + n].view(batch, 6, plane)

    body, left, up = view(0), view(-1), view(-row)
    grad, rho_c, neg_inv = constants[:, :2], constants[:, 2:3], constants[:, 3:4]
    u = body[:, :2]
    rho = rho_c + grad[:, :1] * u[:, :1] + grad[:, 1:] * u[:, 1:]
    coef = (rho * neg_inv).clamp(-lt, lt)
    u = u + coef * grad + ((body[:, 2:4] - left[:, 2:4]) + body[:, 4:6] - up[:, 4:6])
    padded = F.pad(u, (0, row))
    gx = (padded[..., 1:plane + 1] - u) * masks[0]
    gy = (padded[..., row:row + plane] - u) * masks[1]
    norm = (gx * gx + gy * gy).sqrt() * tau_theta + 1.0
    return torch.cat((u, (body[:, 2:4] + tau * gx) / norm, (body[:, 4:6] + tau * gy) / norm), dim=1)


_COMPILED: list = []


def _compiled_step():  # noqa: ANN202 - returns whatever torch.compile returns
    """``_step_pure`` through torch.compile, built once per process."""
    if not _COMPILED:
        _COMPILED.append(torch.compile(_step_pure, dynamic=True))
    return _COMPILED[0]


# --- reference and storage -----------------------------------------------------------------------------


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
