"""The stages that ``bench scaling`` measures, each run in a fresh child process, and what they read: one stage
per module-level function, so that a spawned child can import it."""

from __future__ import annotations

import csv
import json
import logging
import multiprocessing
import os
import resource
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from signdistill.data.atomic import atomic_json

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
    from signdistill.training.recipes import read_index

    rows = read_index(root / "index" / "index.csv")
    return {"frames": sum(int(r["num_frames"]) for r in rows),
            "longest_train_clip": max(int(r["num_frames"]) for r in rows if r["split"] == "train")}


def allocator() -> dict[str, str]:
    """glibc malloc's settings from the environment, which the stages' child processes inherit: they decide how
    much freed memory a long run keeps resident (docs/scaling.md, "Memory")."""
    return {k: v for k, v in sorted(os.environ.items()) if k.startswith("MALLOC_") or k == "GLIBC_TUNABLES"}
