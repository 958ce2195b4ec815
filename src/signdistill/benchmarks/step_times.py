"""Training step time of every method's configured runs, side by side with the baseline, in one process.

Each run of the configuration (``--env``: ``base`` by default, or e.g. ``phoenix2014``) is built as its
training recipe builds it (a distilled run wraps a fresh copy of its teacher), and takes optimiser steps
(``Trainer.train_step``: mixed precision on CUDA, clipping) on a synthetic batch shaped like its data view:
``--frames`` frames per clip at its crop (resized for low-resolution students), flow and keypoints when it
reads them, a high-resolution view for a CRKD teacher. Prints the median seconds per step, the ratio to the
first run and the epoch time this implies on the corpus (``ceil(train videos / batch) x step``): what sizing
the embedded defaults needs. The weights are untrained; step time does not depend on them.

Run: ``uv run python -m signdistill.benchmarks.step_times [--env ENV] [--device cuda] [--frames 90]``. Torch and
the core only (no Kedro) with ``--params conf/base/parameters_*.yml``: the runs of those files.
"""

from __future__ import annotations

import json
import math
import tempfile
import time
from pathlib import Path
from typing import Annotated

import pandas as pd
import torch
import typer

from signdistill.benchmarks._cli import MultiValueCommand, benchmark_app, summary
from signdistill.benchmarks._conf import (
    ConfOption,
    DataOption,
    DeviceOption,
    EnvOption,
    ParamsOption,
    data_root,
    parameters,
)
from signdistill.benchmarks.method_seeds import run_params
from signdistill.data.atomic import atomic_json
from signdistill.data.vocabulary import Vocabulary
from signdistill.metrics.efficiency import sync_device
from signdistill.paths import DATA, DataPaths
from signdistill.training.recipes import build_model
from signdistill.training.spec import RunSpec
from signdistill.training.trainer import TrainConfig, Trainer

app = benchmark_app(__doc__)
# (method, run, its teacher run when distilled)
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


def step_seconds(config: dict, method: str, run: str, teacher: str | None, vocab: Vocabulary, frames: int,
                 device: str, repeats: int) -> dict:
    """Median seconds of one training step of ``run`` (of loaded parameters ``config``)."""
    params = run_params(config, run)
    torch.manual_seed(0)
    teacher_model = build_model(RunSpec.from_params(run_params(config, teacher), teacher), vocab) if teacher else None
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


@app.command(cls=MultiValueCommand, help=summary(__doc__))
def main(env: EnvOption = "base",
         conf: ConfOption = Path("conf"),
         params: ParamsOption = [],
         data: DataOption = None,
         runs: Annotated[list[str], typer.Option(metavar="RUN ...", help="Run names (default: every method's main "
                                                 "runs).")] = [],
         frames: Annotated[int, typer.Option(metavar="N", help="Frames per clip (the default corpus averages 90).")
                           ] = 90,
         train_videos: Annotated[int | None, typer.Option(metavar="N", help="Training videos of an epoch (default: "
                                                          "the corpus index's train split).")] = None,
         repeats: Annotated[int, typer.Option(metavar="N", help="Timed steps per run; the median is kept.")] = 3,
         device: DeviceOption = "auto",
         out: Annotated[Path, typer.Option(metavar="PATH", help="Where the JSON result is written.")
                        ] = DATA.report("step_times.json")) -> list[dict]:
    paths = DataPaths(data_root(data, env, conf, params))
    if train_videos is None:
        if not paths.corpus_index.exists():
            raise SystemExit(f"no {paths.corpus_index}: run the preprocess pipeline or pass --train-videos")
        train_videos = int((pd.read_csv(paths.corpus_index).split == "train").sum())
    vocab = (Vocabulary.from_dict(json.loads(paths.vocabulary.read_text())) if paths.vocabulary.exists()
             else Vocabulary(tuple(f"G{i:03d}" for i in range(42))))
    config = parameters(env, conf, params)
    rows = []
    for method, run, teacher in RUNS:
        if (runs and run not in runs) or (params and run not in config):  # files read alone: the runs they hold
            continue
        row = step_seconds(config, method, run, teacher, vocab, frames, device, repeats)
        row["ratio"] = row["step_s"] / (rows[0]["step_s"] if rows else row["step_s"])
        row["epoch_min"] = math.ceil(train_videos / row["batch"]) * row["step_s"] / 60
        row["budget_min"] = row["epoch_min"] * row["epochs"]
        rows.append(row)
        print(json.dumps(row), flush=True)
    atomic_json(out, {"frames": frames, "train_videos": train_videos, "runs": rows})
    print(format_table(rows))
    return rows


if __name__ == "__main__":
    app()
