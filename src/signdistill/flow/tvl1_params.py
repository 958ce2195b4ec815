"""The knobs of the TV-L1 solver (``flow.tvl1``), each with the reason for its default."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


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
      Off: at 112 px, 0.8 barely helps the synthetic shifts but worsens the smooth fields, and on SynthSign
      it raises the noise of static regions and moves moving pixels away from the converged solution.
    - ``interpolation="bicubic"``: warping of I1 and its gradients and upsampling of the flow with Keys'
      cubic a = -0.5 (IPOL's kernel; OpenCV and ``grid_sample`` use a = -0.75, which doubles the EPE of
      sub-pixel shifts). "bilinear" is cheaper, but worse on rotations.

    Solver (the tuned part: speed at equal or better accuracy than OpenCV; judged on the cases of
    ``signdistill bench flow``, which prints the current figures):

    - ``warps=5``: re-linearisations per level (IPOL and OpenCV). Large motions need them: a 20 px shift
      at 112 px needs all 5 to converge; every warp fewer multiplies its end-point error.
    - ``finest_warps=None``: warps on the finest level only (None = ``warps``). The finest level is 3/4
      of the work, so 2 here is a faster setting that keeps the synthetic EPE nearly unchanged but leaves
      more noise in static regions of real frames and a worse photometric residual.
    - ``epsilon=0.01``: a warp stops when the mean squared change of u in one iteration is below
      ``epsilon**2`` px^2 (IPOL, OpenCV), checked per pair.
    - ``max_iterations=30``: cap per warp (IPOL 300, OpenCV 10 x 30 per warp). ``epsilon`` ends most
      warps before it; the cap binds on the finest levels of moving content. Against a run with 300 it
      moves moving pixels by far less than OpenCV differs from that run, for less of the work, and leaves
      the synthetic EPEs unchanged; 20 saves more work at more static noise.
    - ``check_every=5``: the stopping test runs every this many iterations (it costs a copy, a reduction
      and, on CUDA, a host sync); a pair may run up to 4 more iterations than IPOL's test, never fewer.
    - ``median=0``: size of a median filter of the flow after each warp (Wedel et al. 2009; OpenCV uses
      5 inside its loop). Off: at 112 px a 5 x 5 median erases the motion of thin fingers (a worse
      photometric residual on SynthSign) and costs about as much as the solver. 0 disables it, else odd >= 3.

    Engineering:

    - ``normalise=True``: stretch each pair jointly to 0..255 (IPOL), so that ``lambda_`` means the same
      for frames given in 0..1, 0..255 or any other range.
    - ``chunk_pixels=None``: each level is solved in chunks of about this many pixels, so that the
      working set (~20 float planes per pair) stays near the cache while each op is big enough to
      amortise its launch; ``None`` is 2**18 on CPU (the fastest region of the sizes tried) and 2**26 on
      CUDA. Chunking never changes the result.
    - ``compile=False``: run the iteration through ``torch.compile`` (an out-of-place twin of the eager
      step that fuses its elementwise ops). Off: it needs a C++/Triton toolchain, compiles slowly, and on a
      CPU it is no faster than the eager in-place ops; it is meant for CUDA.
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
