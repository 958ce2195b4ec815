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

import csv
import json
import logging
import multiprocessing
import os
import resource
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
import yaml

from signdistill.benchmarks._cli import JSON_HELP, MultiValueCommand, benchmark_app, print_payload
from signdistill.benchmarks._scaling_estimate import (
    ALLOCATOR_VARIANTS,
    EXECUTOR_VARIANTS,
    render_estimates,
    write_doc_section,
)
from signdistill.data.atomic import atomic_json

app = benchmark_app(__doc__)
STAGES = ("synth", "index", "frames", "tvl1", "mediapipe", "train_epoch", "evaluation")
OUTPUTS = {"synth": ["corpus"], "index": ["index"], "frames": ["store", "frame_cache"],
           "tvl1": ["feature_cache/flow"], "mediapipe": ["features", "feature_cache/keypoints"],
           "train_epoch": ["checkpoints", "package.pt"], "evaluation": ["hypotheses.json"]}
TRAIN_RUN = ("parameters_baseline.yml", "student_res")
# what each stage reads, so that a sweep of some stages runs only what they need (the training epoch reads the
# frame store, not flow or keypoints); the MediaPipe stage packs the feature store, flow included
NEEDS = {"synth": (), "index": ("synth",), "frames": ("index",), "tvl1": ("frames",), "mediapipe": ("tvl1",),
         "train_epoch": ("frames",), "evaluation": ("train_epoch",)}


def settings(conf: Path, name: str) -> dict:
    """The ``preprocess`` and ``features`` sections of conf/base, with conf/paper's over them for ``paper``."""
    out = {}
    for section in ("preprocess", "features"):
        files = [conf / "base" / f"parameters_{section}.yml"]
        files += [conf / "paper" / f"parameters_{section}.yml"] if name == "paper" else []
        for path in files:
            out[section] = yaml.safe_load(path.read_text())[section]  # Kedro replaces whole top-level keys too
    return out


def split_sizes(videos: int) -> dict[str, int]:
    """A tenth of the videos each for dev and test (at least one), the rest for training."""
    held = max(1, videos // 10)
    return {"train": videos - 2 * held, "dev": held, "test": held}


# --------------------------------------------------------------------------- the stages (each in a child)


def _samples(ctx: dict) -> list:
    from signdistill.data.corpora import read_corpus

    rows = {r["id"] for r in _index(ctx)}
    return [s for s in read_corpus(Path(ctx["root"]) / "corpus").samples if s.id in rows]


def _index(ctx: dict) -> list[dict]:
    from signdistill.training.recipes import read_index

    return read_index(Path(ctx["root"]) / "index" / "index.csv")


def _executor(ctx: dict):  # noqa: ANN202 - an ExecutorSpec
    from signdistill.data.parallel import ExecutorSpec

    return ExecutorSpec.from_params(ctx["executor"], ctx["workers"])


def stage_synth(ctx: dict) -> None:
    from signdistill.synth.corpus import generate_corpus, get_preset

    width, height = ctx["frame_size"]
    preset = get_preset("default", videos=split_sizes(ctx["videos"]), width=width, height=height)
    generate_corpus(Path(ctx["root"]) / "corpus", preset, 0, workers=ctx["workers"], progress=False)


def stage_index(ctx: dict) -> None:
    from signdistill.data.atomic import atomic_json, atomic_write
    from signdistill.data.corpora import read_corpus
    from signdistill.data.records import too_short_reason
    from signdistill.data.vocabulary import Vocabulary

    pre, root = ctx["settings"]["preprocess"], Path(ctx["root"])
    rows = [{"id": s.id, "split": s.split, "signer": s.signer, "annotation": " ".join(s.glosses),
             "num_frames": s.num_frames, "source": str(s.source)} for s in read_corpus(root / "corpus").samples
            if not too_short_reason(s, s.num_frames or 0, int(pre["temporal_downsample"]),
                                    int(pre.get("temporal_context", 0)))]

    def write(tmp: Path) -> None:
        with open(tmp, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)

    atomic_write(root / "index" / "index.csv", write)
    vocabulary = Vocabulary.from_sequences([r["annotation"].split() for r in rows if r["split"] == "train"])
    atomic_json(root / "index" / "vocabulary.json", vocabulary.to_dict())


def stage_frames(ctx: dict) -> None:
    from signdistill.data.store import build_frame_store

    sizes = sorted({int(v) for v in ctx["settings"]["preprocess"]["resolutions"].values()})
    root = Path(ctx["root"])
    build_frame_store(_samples(ctx), sizes, root / "store", root / "frame_cache", progress=False,
                      executor=_executor(ctx))


def _feature_config(ctx: dict):  # noqa: ANN202 - a FeatureConfig
    from signdistill.data.features import FeatureConfig

    return FeatureConfig.from_params(ctx["settings"]["features"])


def stage_tvl1(ctx: dict) -> None:
    from signdistill.data.features import compute_features

    root = Path(ctx["root"])
    compute_features(_samples(ctx), _feature_config(ctx), root / "store", root / "feature_cache", progress=False,
                     executor=_executor(ctx), keypoints=False)


def stage_mediapipe(ctx: dict) -> None:
    from signdistill.data.features import build_feature_store

    root = Path(ctx["root"])
    build_feature_store(_samples(ctx), _feature_config(ctx), root / "store", root / "features",
                        root / "feature_cache", progress=False, executor=_executor(ctx))


def _train_params(ctx: dict) -> dict:
    """The baseline's student run for one epoch, on the store size the settings build (conf/paper's student frames
    are larger than conf/base's), its crop scaled by the same factor."""
    name, run = TRAIN_RUN
    params = yaml.safe_load((Path(ctx["conf"]) / "base" / name).read_text())[run]["recognizer"]
    student = int(ctx["settings"]["preprocess"]["resolutions"]["student"])
    params["crop"] = round(int(params["crop"]) * student / int(params["store_size"]))
    params["store_size"] = student
    params["train"].update({"epochs": 1, "device": "cpu", "num_workers": 0})
    return params


def stage_train_epoch(ctx: dict) -> None:
    from signdistill.training.checkpoint import save_atomic
    from signdistill.training.run import train_run
    from signdistill.training.spec import RunInputs, RunSpec

    root = Path(ctx["root"])
    params = {**_train_params(ctx), "checkpoint_dir": str(root / "checkpoints")}
    vocabulary = json.loads((root / "index" / "vocabulary.json").read_text())
    outcome = train_run(RunSpec.from_params(params, "scaling"), RunInputs(root / "store", _index(ctx), vocabulary))
    save_atomic(outcome.package, root / "package.pt")


def stage_evaluation(ctx: dict) -> None:
    from signdistill.data.store import FrameStore
    from signdistill.data.vocabulary import Vocabulary
    from signdistill.models.registry import load_recognizer
    from signdistill.training.checkpoint import load_checkpoint
    from signdistill.training.evaluate import decode_splits, score_splits

    root = Path(ctx["root"])
    package = load_checkpoint(root / "package.pt")
    index = _index(ctx)
    hypotheses = decode_splits(load_recognizer(package), FrameStore(root / "store"), index,
                               Vocabulary.from_dict(package["vocabulary"]), package["data"], method="greedy")
    atomic_json(root / "hypotheses.json", {"hypotheses": hypotheses, "scores": score_splits(hypotheses, index)})


STAGE_FUNCTIONS: dict[str, Callable[[dict], None]] = {
    "synth": stage_synth, "index": stage_index, "frames": stage_frames, "tvl1": stage_tvl1,
    "mediapipe": stage_mediapipe, "train_epoch": stage_train_epoch, "evaluation": stage_evaluation}


def _child(stage: str, ctx: dict, queue: multiprocessing.Queue) -> None:
    import torch

    logging.disable(logging.WARNING)  # per-video warnings (no person found) would drown the table
    torch.set_num_threads(1)
    start = time.perf_counter()
    STAGE_FUNCTIONS[stage](ctx)
    seconds = time.perf_counter() - start
    rss = max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    queue.put({"seconds": seconds, "peak_rss_bytes": rss * 1024, "allocator": allocator()})


def run_stage(stage: str, ctx: dict) -> dict:
    """``stage`` in a fresh (spawned) process: its wall seconds, peak RSS and the bytes it left on disk."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_child, args=(stage, ctx, queue))
    process.start()
    process.join()
    if process.exitcode != 0:
        raise RuntimeError(f"stage {stage} failed (exit code {process.exitcode}) in {ctx['root']}")
    result = queue.get()
    result["disk_bytes"] = sum(_bytes(Path(ctx["root"]) / out) for out in OUTPUTS[stage])
    return result


def _bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


def stages_to_run(asked: list[str]) -> list[str]:
    """The stages asked for and every stage they read, transitively, in pipeline order."""
    needed, todo = set(), list(asked)
    while todo:
        stage = todo.pop()
        if stage not in needed:
            needed.add(stage)
            todo.extend(NEEDS[stage])
    return [s for s in STAGES if s in needed]


def corpus_frames(root: Path) -> dict[str, int]:
    """Frames of the indexed corpus, and of its longest training clip: a training epoch's peak memory follows the
    longest padded batch, an extreme of the data that grows slowly with the corpus, so the sweep records it."""
    with open(root / "index" / "index.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {"frames": sum(int(r["num_frames"]) for r in rows),
            "longest_train_clip": max(int(r["num_frames"]) for r in rows if r["split"] == "train")}


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


def allocator() -> dict[str, str]:
    """glibc malloc's settings from the environment, which the stages' child processes inherit: they decide how
    much freed memory a long run keeps resident (docs/scaling.md, "Memory")."""
    return {k: v for k, v in sorted(os.environ.items()) if k.startswith("MALLOC_") or k == "GLIBC_TUNABLES"}


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
