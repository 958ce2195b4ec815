"""One pyramid level of TV-L1 (``flow.tvl1``): warps of (linearise the data term, iterate thresholding, primal
update and dual projection) on flat, zero-padded buffers, so that every solver op is one contiguous 1-D op."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from signdistill.flow.imaging import base_grid, central_gradient, median, sample
from signdistill.flow.tvl1_params import TVL1Params

_GRAD_IS_ZERO = 1e-10  # below this |grad I1|^2 the data term carries no direction: leave v = u (IPOL)


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


def solve_level(i0: torch.Tensor, i1: torch.Tensor, u: torch.Tensor, warps: int, p: TVL1Params) -> torch.Tensor:
    """Warps x (linearise the data term at u, iterate) on one pyramid level; u is [B,2,H,W]."""
    batch, _, height, width = u.shape
    layout = _Layout(height, width)
    images = torch.cat((i1[:, None], central_gradient(i1)), dim=1)  # I1, dI1/dx, dI1/dy
    ys, xs = base_grid(height, width, u)
    # per pair: u1, u2, then theta*p for (u1, u2) x-parts, then (u1, u2) y-parts; the dual starts at 0
    state = layout.pack(torch.cat((u, u.new_zeros(batch, 4, height, width)), dim=1))
    flow = layout.unpack(state)[:, :2]
    for _ in range(warps):
        warped = sample(images, xs + flow[:, 0], ys + flow[:, 1], p.interpolation)
        grad = warped[:, 1:]
        norm2 = (grad * grad).sum(1, keepdim=True)
        neg_inv = torch.where(norm2 > _GRAD_IS_ZERO, -1.0 / norm2.clamp_min(_GRAD_IS_ZERO), 0.0)
        rho_c = warped[:, :1] - i0[:, None] - (grad * flow).sum(1, keepdim=True)
        constants = layout.pack(torch.cat((grad, rho_c, neg_inv), dim=1))
        _iterate(state, constants, layout, p)
        if p.median:
            flow.copy_(median(flow, p.median))
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
    torch.mul(gx, gx, out=norm).addcmul_(gy, gy).sqrt_()  # torch.hypot is much slower on CPU
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
