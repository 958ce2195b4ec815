"""How well MediaPipe Holistic sees the SynthSign signer: the acceptance benchmark of the renderer.

The project requires MediaPipe Holistic (video mode, model complexity 1) to find the body in at least
95% and each visible hand in at least 80% of SynthSign frames on the default preset, because the
keypoint modality of the teachers is extracted with it; if it could not see the synthetic hands, the
embedded benchmark would test nothing about keypoints. This module renders default-preset training
videos in memory (nothing is written to disk), extracts keypoints, and compares them to the renderer's
exact ground truth.

Run: ``uv run python -m signdistill.benchmarks.mediapipe_synthsign --videos 40``.
"""

from __future__ import annotations

import functools
import json
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Annotated

import numpy as np
import typer

from signdistill.benchmarks._cli import JSON_HELP, benchmark_app, summary
from signdistill.pose.holistic import PART_POINTS, PARTS, HolisticExtractor, gt_visible, pck
from signdistill.synth.corpus import get_preset, plan_corpus, render_video
from signdistill.synth.lexicon import rest_glosses

app = benchmark_app(__doc__)
REQUIRED = {"body": 0.95, "left_hand": 0.80, "right_hand": 0.80}


@functools.lru_cache(maxsize=4)
def _plan(seed: int) -> tuple:
    """The default preset's plan, computed once per worker process and seed."""
    preset = get_preset("default")
    lexicon, signers, plans = plan_corpus(preset, seed)
    by_name = {g.name: g for g in lexicon + rest_glosses()}
    return preset, by_name, signers, [p for p in plans if p.split == "train"]


def _job(args: tuple) -> dict:
    """Render one video and extract its keypoints; returns the raw per-frame evidence for pooling."""
    number, seed, stride = args
    preset, by_name, signers, train = _plan(seed)
    plan = train[number]
    frames, gt, _ = render_video(plan, by_name, signers[plan.signer], seed, preset.width, preset.height)
    start = time.process_time()
    wall = time.perf_counter()
    with HolisticExtractor() as extractor:
        result = extractor.extract(frames, stride)
    return {
        "id": plan.id, "gt": gt, "pred": result.keypoints,
        "flags": {part: result.flags(part) for part in PARTS},
        "cpu_s": time.process_time() - start, "wall_s": time.perf_counter() - wall,
    }


def summarize(videos: list[dict]) -> dict:
    """Pool per-video evidence into detection rates (all frames and GT-visible frames) and PCK@0.1."""
    gt = np.concatenate([v["gt"] for v in videos])
    pred = np.concatenate([v["pred"] for v in videos])
    out: dict = {"videos": len(videos), "frames": int(len(gt)), "parts": {}}
    for part in PARTS:
        flags = np.concatenate([v["flags"][part] for v in videos])
        visible = gt_visible(gt, part)
        per_video = [float(v["flags"][part][gt_visible(v["gt"], part)].mean()) for v in videos
                     if gt_visible(v["gt"], part).any()]
        out["parts"][part] = {
            "detected": float(flags.mean()),
            "detected_visible": float(flags[visible].mean()) if visible.any() else float("nan"),
            "visible_frames": int(visible.sum()),
            "pck@0.1": pck(pred, gt, PART_POINTS[part], visible & flags),
            "worst_video_visible": float(min(per_video)) if per_video else float("nan"),
            "required": REQUIRED.get(part),
        }
    cpu = sum(v["cpu_s"] for v in videos)
    wall = sum(v["wall_s"] for v in videos)
    out["frames_per_s_per_core"] = out["frames"] / max(wall, 1e-9)
    out["frames_per_cpu_s"] = out["frames"] / max(cpu, 1e-9)
    out["passed"] = all(out["parts"][p]["detected_visible"] >= r for p, r in REQUIRED.items())
    return out


def run(num_videos: int = 40, seed: int = 0, workers: int = 2, keep_videos: bool = False, stride: int = 1) -> dict:
    """Benchmark MediaPipe Holistic on the first ``num_videos`` default-preset training videos.

    Videos are rendered and extracted inside the worker processes (one extractor per video, reset
    tracking), so the work parallelises over videos. Frames per second per core counts each worker's
    own extraction wall time, which is what a per-video fan-out on more cores would scale by.
    """
    jobs = [(i, seed, stride) for i in range(num_videos)]
    if workers <= 1:
        videos = [_job(j) for j in jobs]
    else:
        with ProcessPoolExecutor(workers) as pool:
            videos = list(pool.map(_job, jobs))
    summary = summarize(videos)
    summary["seed"] = seed
    summary["stride"] = stride
    if keep_videos:
        summary["per_video"] = videos
    return summary


def format_table(summary: dict) -> str:
    lines = [f"MediaPipe Holistic on SynthSign default preset: {summary['videos']} videos, "
             f"{summary['frames']} frames, seed {summary['seed']}, MediaPipe on every {summary['stride']}. frame",
             f"{'part':<12}{'detected':>10}{'visible':>10}{'among vis.':>12}{'worst vid':>11}{'PCK@0.1':>9}"
             f"{'required':>10}"]
    for part, row in summary["parts"].items():
        required = f"{row['required']:.2f}" if row["required"] is not None else "-"
        lines.append(f"{part:<12}{row['detected']:>10.3f}{row['visible_frames']:>10d}"
                     f"{row['detected_visible']:>12.3f}{row['worst_video_visible']:>11.3f}{row['pck@0.1']:>9.3f}"
                     f"{required:>10}")
    lines.append(f"throughput: {summary['frames_per_s_per_core']:.1f} frames/s per core "
                 f"({summary['frames_per_cpu_s']:.1f} frames per CPU-second)")
    lines.append("PASSED" if summary["passed"] else "FAILED")
    return "\n".join(lines)


@app.command(help=summary(__doc__))
def main(videos: Annotated[int, typer.Option(metavar="N", help="SynthSign default-preset train videos to run.")] = 40,
         seed: Annotated[int, typer.Option(metavar="N", help="Seed of the generated videos.")] = 0,
         workers: Annotated[int, typer.Option(metavar="N", help="Processes running MediaPipe (one video each at a "
                                                                  "time).")] = 2,
         stride: Annotated[int, typer.Option(metavar="N", help="MediaPipe on every n-th frame, the rest "
                                                                 "interpolated.")] = 1,
         as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False) -> dict:
    result = run(videos, seed, workers, stride=stride)
    typer.echo(json.dumps(result, indent=1) if as_json else format_table(result))
    return result


if __name__ == "__main__":
    app()
