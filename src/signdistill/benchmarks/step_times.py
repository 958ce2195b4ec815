"""Training step time of every method's configured runs, side by side with the baseline, in one process.

Each run of the parameters files (``conf/base`` by default, or ``--conf conf/phoenix2014``) is built as its
training recipe builds it (a distilled run wraps a fresh copy of its teacher), and takes optimiser steps
(``Trainer.train_step``: mixed precision on CUDA, clipping) on a synthetic batch shaped like its data view:
``--frames`` frames per clip at its crop (resized for low-resolution students), flow and keypoints when it
reads them, a high-resolution view for a CRKD teacher. Prints the median seconds per step, the ratio to the
first run and the epoch time this implies on the corpus (``ceil(train videos / batch) x step``): what sizing
the embedded defaults needs. The weights are untrained; step time does not depend on them.

Run: ``uv run python -m signdistill.benchmarks.step_times [--device cuda] [--frames 90]``. Torch and the core only.
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch

from signdistill.benchmarks.method_seeds import run_params
from signdistill.data.atomic import atomic_json
from signdistill.data.vocabulary import Vocabulary
from signdistill.metrics.efficiency import sync_device
from signdistill.training.recipes import build_model
from signdistill.training.spec import RunSpec
from signdistill.training.trainer import TrainConfig, Trainer

# (parameters file, run, its teacher run when distilled)
RUNS = [("baseline", "teacher_res", None), ("baseline", "student_res", None),
        ("smkd", "smkd", None), ("ctca", "ctca", None),
        ("crkd", "crkd_teacher", None), ("crkd", "crkd_scratch", None), ("crkd", "crkd_distilled", "crkd_teacher"),
        ("signkd", "signkd_teacher", None), ("signkd", "signkd_scratch", None),
        ("signkd", "signkd_distilled", "signkd_teacher")]


def synthetic_batch(params: dict, batch: int, frames: int, vocab: Vocabulary, teacher_view: bool) -> dict:
    """Random clips shaped as ``params``'s data view sees them (lengths differ, as in a real batch)."""
    crop = int(params["crop"])
    size = int(params.get("resize") or crop)
    lengths = torch.tensor([frames - 8 * i for i in range(batch)])
    labels = torch.randint(1, len(vocab), (batch * 6,))
    out = {"video": torch.randint(0, 255, (batch, frames, size, size, 3), dtype=torch.uint8), "lengths": lengths,
           "labels": labels, "label_lengths": torch.full((batch,), 6), "ids": [str(i) for i in range(batch)]}
    if teacher_view and params.get("resize"):
        out["video_teacher"] = torch.randint(0, 255, (batch, frames, crop, crop, 3), dtype=torch.uint8)
    streams = params.get("streams") or []
    if "flow" in streams:
        out["flow"] = torch.randn(batch, frames, 2, crop // 2, crop // 2)
    if "keypoints" in streams:
        out["keypoints"] = torch.rand(batch, frames, 133, 3) * (crop // 2)
    return out


def step_seconds(conf: Path, method: str, run: str, teacher: str | None, vocab: Vocabulary, frames: int,
                 device: str, repeats: int) -> dict:
    params = run_params(conf / f"parameters_{method}.yml", run)
    torch.manual_seed(0)
    teacher_model = build_model(RunSpec.from_params(run_params(conf / f"parameters_{method}.yml", teacher), teacher),
                                vocab) if teacher else None
    model = build_model(RunSpec.from_params(params, run), vocab, teacher_model)
    train = {**params["train"], "device": device}
    config = TrainConfig(**train)
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(model, None, lambda m: {}, config, Path(tmp))
        trainer.model.train()
        batch = synthetic_batch(params, config.batch_size, frames, vocab, teacher is not None)
        times = []
        for i in range(repeats + 1):  # the first step builds caches and autotunes: untimed
            sync_device(trainer.device)
            start = time.perf_counter()
            trainer.train_step(batch)
            sync_device(trainer.device)
            if i:
                times.append(time.perf_counter() - start)
    times.sort()
    return {"method": method, "run": run, "batch": config.batch_size, "epochs": config.epochs,
            "step_s": times[len(times) // 2], "device": str(trainer.device)}


def format_table(rows: list[dict]) -> str:
    lines = [f"{'run':<18}{'batch':>6}{'s/step':>9}{'x first':>9}{'epoch min':>10}{'budget min':>11}"]
    for r in rows:
        lines.append(f"{r['run']:<18}{r['batch']:>6}{r['step_s']:>9.3f}{r['ratio']:>9.2f}{r['epoch_min']:>10.1f}"
                     f"{r['budget_min']:>11.1f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conf", type=Path, default=Path("conf/base"))
    parser.add_argument("--data", type=Path, default=Path("data"))
    parser.add_argument("--runs", nargs="*", default=None, help="run names (default: every method's main runs)")
    parser.add_argument("--frames", type=int, default=90, help="frames per clip (the default corpus averages 90)")
    parser.add_argument("--train-videos", type=int, default=None, help="default: the corpus index's train split")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", type=Path, default=Path("data/08_reporting/step_times.json"))
    args = parser.parse_args(argv)
    index = args.data / "02_intermediate/corpus_index.csv"
    if args.train_videos:
        train_videos = args.train_videos
    elif index.exists():
        train_videos = int((pd.read_csv(index).split == "train").sum())
    else:
        raise SystemExit(f"no {index}: run the preprocess pipeline or pass --train-videos")
    vocabulary = args.data / "03_primary/vocabulary.json"
    vocab = (Vocabulary.from_dict(json.loads(vocabulary.read_text())) if vocabulary.exists()
             else Vocabulary(tuple(f"G{i:03d}" for i in range(42))))
    rows = []
    for method, run, teacher in RUNS:
        if args.runs and run not in args.runs:
            continue
        row = step_seconds(args.conf, method, run, teacher, vocab, args.frames, args.device, args.repeats)
        row["ratio"] = row["step_s"] / (rows[0]["step_s"] if rows else row["step_s"])
        row["epoch_min"] = math.ceil(train_videos / row["batch"]) * row["step_s"] / 60
        row["budget_min"] = row["epoch_min"] * row["epochs"]
        rows.append(row)
        print(json.dumps(row), flush=True)
    atomic_json(args.out, {"frames": args.frames, "train_videos": train_videos, "runs": rows})
    print(format_table(rows))
    return rows


if __name__ == "__main__":
    main()
