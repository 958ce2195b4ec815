"""Heatmap frames/s: separable batched rendering (CPU, and GPU when present) against a dense per-point loop.

Run: ``uv run signdistill bench heatmaps`` or ``uv run python -m signdistill.benchmarks.heatmaps [--json]``.
"""

from __future__ import annotations

import json
import time
from typing import Annotated

import torch
import typer

from signdistill.benchmarks._cli import JSON_HELP, benchmark_app, summary
from signdistill.pose.heatmaps import render_heatmaps

app = benchmark_app(__doc__)


def _dense_loop(keypoints: torch.Tensor, size: int, sigma: float) -> torch.Tensor:
    """The obvious reference: one full 2-D Gaussian per keypoint."""
    yy, xx = torch.meshgrid(torch.arange(size, dtype=keypoints.dtype, device=keypoints.device),
                            torch.arange(size, dtype=keypoints.dtype, device=keypoints.device), indexing="ij")
    out = torch.empty(*keypoints.shape[:2], size, size, device=keypoints.device)
    for t in range(keypoints.shape[0]):
        for k in range(keypoints.shape[1]):
            x, y, s = keypoints[t, k]
            out[t, k] = s * torch.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * sigma**2))
    return out


def _frames_per_s(fn, keypoints: torch.Tensor, repeats: int) -> float:
    fn(keypoints)
    if keypoints.is_cuda:
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(repeats):
        fn(keypoints)
    if keypoints.is_cuda:
        torch.cuda.synchronize()
    return repeats * keypoints.shape[0] / (time.perf_counter() - start)


def run(frames: int = 256, size: int = 112, sigma: float = 4.0, points: int = 79) -> dict:
    out: dict = {"frames": frames, "size": size, "points": points, "sigma": sigma}
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for device in devices:
        kp = torch.rand(frames, points, 3, device=device) * torch.tensor([size, size, 1.0], device=device)
        render = lambda k: render_heatmaps(k, (size, size), sigma)  # noqa: E731
        out[f"separable_{device}_frames_per_s"] = _frames_per_s(render, kp, 5)
    small = torch.rand(8, points, 3) * torch.tensor([size, size, 1.0])
    out["dense_loop_cpu_frames_per_s"] = _frames_per_s(lambda k: _dense_loop(k, size, sigma), small, 1)
    out["separable_vs_dense_cpu"] = out["separable_cpu_frames_per_s"] / out["dense_loop_cpu_frames_per_s"]
    return out


@app.command(help=summary(__doc__))
def main(frames: Annotated[int, typer.Option(metavar="N", help="Frames of 133 keypoints to render.")] = 256,
         size: Annotated[int, typer.Option(metavar="PX", help="Heatmap height and width in pixels.")] = 112,
         as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False) -> dict:
    result = run(frames=frames, size=size)
    if as_json:
        typer.echo(json.dumps(result, indent=1))
    else:
        for key, value in result.items():
            typer.echo(f"{key}: {value}")
    return result


if __name__ == "__main__":
    app()
