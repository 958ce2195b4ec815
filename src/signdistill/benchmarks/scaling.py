"""Cost of every stage as the corpus grows: wall seconds, peak RSS and bytes on disk per corpus size, and k of
cost ~ N^k.

SynthSign corpora of growing size (``--sizes 40 80 160 320`` videos, frames ``--frame-size`` WxH) go through
the stages a real corpus goes through: SynthSign generation, the index and vocabulary, the frame store
(decode, resize, pack), TV-L1 flow, MediaPipe keypoints (with the feature store's packing), one training epoch
of the baseline at student resolution and the evaluation of dev and test. Each stage runs in a fresh child
process, so its peak RSS (``ru_maxrss`` of the child and of the worker processes it waited for) is its own.
The per-video stages run on ``--executor processes|dask``; ``--compare-executors`` also times the frame store
and flow of the largest corpus on the process pool and on Dask ``LocalCluster``s of one and two workers;
``--compare-allocators`` one training epoch of it under glibc malloc's default and a fixed 1 MiB mmap threshold.

k is the least-squares slope of log(cost) over log(N): linear growth gives 1. ``--out FILE`` keeps the
measurements; ``--estimate FILE`` turns them into hours and disk for real corpora
(``signdistill.benchmarks._scaling_estimate``, the table of docs/scaling.md).

Run: ``uv run signdistill bench scaling --sizes 20 40 80 --out scaling.json`` (``--settings paper`` for the
paper's frame sizes, flow size and keypoint stride from conf/paper).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from signdistill.benchmarks._cli import JSON_HELP, MultiValueCommand, benchmark_app, print_payload
from signdistill.benchmarks._scaling_estimate import (
    ALLOCATOR_VARIANTS,
    EXECUTOR_VARIANTS,
    render_estimates,
    write_doc_section,
)
from signdistill.benchmarks._scaling_stages import (
    STAGES,
    allocator,
    corpus_frames,
    run_stage,
    settings,
    stages_to_run,
)
from signdistill.data.atomic import atomic_json

app = benchmark_app(__doc__)


def exponent(sizes: list[int], costs: list[float]) -> float | None:
    """k of cost ~ N^k: the least-squares slope of log(cost) over log(N) (None without two positive costs)."""
    points = [(n, c) for n, c in zip(sizes, costs, strict=True) if c > 0]
    if len(points) < 2:
        return None
    n, c = np.log(np.array(points, dtype=float)).T
    return float(np.polyfit(n, c, 1)[0])


def fit(runs: list[dict], stages: list[str]) -> dict:
    """Per stage: k for seconds and bytes, and the largest corpus's peak RSS over the smallest's."""
    sizes = [r["videos"] for r in runs]
    out = {}
    for stage in stages:
        rows = [r["stages"][stage] for r in runs]
        rss = [row["peak_rss_bytes"] for row in rows]
        out[stage] = {"k_seconds": exponent(sizes, [row["seconds"] for row in rows]),
                      "k_bytes": exponent(sizes, [row["disk_bytes"] for row in rows]),
                      "rss_largest_over_smallest": rss[-1] / rss[0]}
    return out


def compare_executors(ctx: dict, workers: int) -> dict:
    """Frame store + flow of one corpus from cold caches: the process pool, Dask with 1 and with 2 workers."""
    out = {}
    for name, executor in EXECUTOR_VARIANTS.items():
        root = Path(ctx["root"])
        for cold in ("store", "frame_cache", "feature_cache"):
            shutil.rmtree(root / cold, ignore_errors=True)
        run = {**ctx, "executor": executor, "workers": executor.get("workers", workers)}
        out[name] = {stage: run_stage(stage, run)["seconds"] for stage in ("frames", "tvl1")}
    one, two = (sum(out[k].values()) for k in ("dask_1_worker", "dask_2_workers"))
    out["dask_speedup_2_vs_1"] = one / two
    return out


def compare_allocators(ctx: dict, repeats: int = 2) -> dict:
    """One training epoch of one corpus under each malloc setting, the settings interleaved ``repeats`` times (the
    children inherit the environment, which glibc reads when a process starts)."""
    out = {"videos": ctx["videos"], **{name: [] for name in ALLOCATOR_VARIANTS}}
    saved = {key: os.environ.get(key) for env in ALLOCATOR_VARIANTS.values() for key in env}
    try:
        for _ in range(repeats):
            for name, env in ALLOCATOR_VARIANTS.items():
                for key in saved:
                    os.environ.pop(key, None)
                os.environ.update(env)
                shutil.rmtree(Path(ctx["root"]) / "checkpoints", ignore_errors=True)  # else it resumes, finished
                out[name].append(run_stage("train_epoch", ctx))
    finally:
        for key, value in saved.items():
            os.environ.pop(key, None)
            if value is not None:
                os.environ[key] = value
    return out


def measure(sizes: list[int], frame_size: tuple[int, int], stages: list[str], setting: str, conf: Path,
            executor: dict, workers: int, keep: Path | None = None, compare: bool = False,
            out: Path | None = None, compare_malloc: bool = False) -> dict:
    """Every stage on every corpus size; the fit; optionally the executor and malloc comparisons on the largest
    corpus."""
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
    base = Path(tempfile.mkdtemp(prefix="scaling-", dir=keep))
    load_before = os.getloadavg()[0]  # how busy the machine was with other work: the estimates say it
    runs = []
    try:
        for videos in sizes:
            ctx = {"root": str(base / str(videos)), "videos": videos, "frame_size": list(frame_size),
                   "settings": settings(conf, setting), "conf": str(conf), "executor": executor, "workers": workers}
            row = {"videos": videos, "stages": {}}
            # the comparisons rebuild what they time, from the index or the frame store
            needed = stages + ["index"] * compare + ["frames"] * compare_malloc
            for stage in stages_to_run(needed):  # only those asked for are kept
                row["stages"][stage] = run_stage(stage, ctx)
            row.update(corpus_frames(Path(ctx["root"])))
            row["stages"] = {s: row["stages"][s] for s in stages}
            runs.append(row)
            typer.echo(f"{videos} videos: {json.dumps(row)}", err=True)
            if out:  # what is measured so far survives an interrupted run
                atomic_json(out, {"sizes": [r["videos"] for r in runs], "runs": runs, "partial": True})
        result = {"settings": setting, "cpus": os.cpu_count(), "load_before": load_before, "allocator": allocator(),
                  "frame_size": list(frame_size), "executor": executor,
                  "workers": workers, "sizes": sizes, "runs": runs, "fit": fit(runs, stages),
                  "stage_settings": settings(conf, setting)}
        if compare_malloc:
            result["allocators"] = compare_allocators(ctx)
        if compare:
            result["executors"] = {"videos": sizes[-1], **compare_executors(ctx, workers)}
        return result
    finally:
        if keep is None:
            shutil.rmtree(base, ignore_errors=True)


def table(result: dict) -> str:
    """The measurements as a text table: per stage and size, seconds / peak RSS MiB / disk MiB, then k."""
    sizes = result["sizes"]
    lines = ["stage        " + "".join(f"{f'N={n} s / RSS MiB / disk MiB':>30}" for n in sizes)
             + "   k_time  k_bytes  RSS max/min"]
    for stage, fitted in result["fit"].items():
        cells = "".join(f"{r['stages'][stage]['seconds']:>12.1f} {r['stages'][stage]['peak_rss_bytes'] / 2**20:>7.0f} "
                        f"{r['stages'][stage]['disk_bytes'] / 2**20:>9.1f}" for r in result["runs"])
        k_time, k_bytes = (f"{v:8.2f}" if v is not None else "       -" for v in
                           (fitted["k_seconds"], fitted["k_bytes"]))
        lines.append(f"{stage:<13}{cells} {k_time} {k_bytes}  {fitted['rss_largest_over_smallest']:10.2f}")
    return "\n".join(lines)


@app.command(cls=MultiValueCommand)
def main(sizes: Annotated[list[int], typer.Option(metavar="N ...", help="Corpus sizes in videos.")
                          ] = [40, 80, 160, 320],  # noqa: B006
         frame_size: Annotated[str, typer.Option(metavar="WxH", help="SynthSign frame size.")] = "210x260",
         stages: Annotated[list[str], typer.Option(metavar="STAGE ...", help=f"Stages to report: {', '.join(STAGES)}.")
                           ] = list(STAGES),  # noqa: B006
         setting: Annotated[str, typer.Option("--settings", metavar="base|paper", help="Stage parameters: conf/base's, "
                                              "or conf/paper's over them.")] = "base",
         conf: Annotated[Path, typer.Option(metavar="PATH", help="Configuration root.")] = Path("conf"),
         executor: Annotated[str, typer.Option(metavar="processes|dask", help="Executor of the per-video stages.")
                             ] = "processes",
         workers: Annotated[int, typer.Option(metavar="N", help="Worker processes (0 = all cores).")] = 0,
         compare: Annotated[bool, typer.Option("--compare-executors", help="Also time frames + flow of the largest "
                                               "corpus on the process pool and on Dask with 1 and 2 workers.")] = False,
         compare_malloc: Annotated[bool, typer.Option("--compare-allocators", help="Also time one training epoch "
                                                      "of the largest corpus under glibc malloc's default and with a "
                                                      "fixed 1 MiB mmap threshold, interleaved.")] = False,
         out: Annotated[Path | None, typer.Option(metavar="FILE", help="Write the measurements as JSON.")] = None,
         keep: Annotated[Path | None, typer.Option(metavar="DIR", help="Keep the corpora and stores under DIR.")
                         ] = None,
         estimate: Annotated[list[Path], typer.Option(metavar="FILE ...", help="Render the estimates of real corpora "
                                                      "from measurements written by --out (measures nothing).")] = [],  # noqa: B006
         write_doc: Annotated[Path | None, typer.Option(metavar="FILE", help="With --estimate: replace the generated "
                                                        "section of this markdown file (docs/scaling.md).")] = None,
         as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False) -> None:
    """Wall seconds, peak RSS and disk per stage as the corpus grows, and k of cost ~ N^k."""
    if estimate:
        results = [json.loads(path.read_text()) for path in estimate]
        text = render_estimates(results, [str(p) for p in estimate])
        if write_doc:
            write_doc_section(write_doc, text)
        typer.echo(text)
        return
    unknown = sorted(set(stages) - set(STAGES))
    if unknown:
        raise typer.BadParameter(f"unknown stages {unknown}; choose from {list(STAGES)}")
    width, height = (int(v) for v in frame_size.lower().split("x"))
    result = measure(sorted(sizes), (width, height), [s for s in STAGES if s in stages], setting, conf,
                     {"kind": executor}, workers, keep, compare, out, compare_malloc)
    if out:
        atomic_json(out, result)
    if as_json:
        print_payload(result, True)
        return
    typer.echo(table(result))
    if "allocators" in result:
        runs = {name: [(round(r["seconds"], 1), round(r["peak_rss_bytes"] / 2**20)) for r in result["allocators"][name]]
                for name in ALLOCATOR_VARIANTS}
        typer.echo(f"malloc (train_epoch seconds, peak RSS MiB, {result['allocators']['videos']} videos): "
                   + json.dumps(runs))
    if "executors" in result:
        typer.echo(f"executors (frames, tvl1 seconds, {result['executors']['videos']} videos): "
                   + json.dumps({k: v for k, v in result["executors"].items() if k != "videos"}))


if __name__ == "__main__":
    app()
