"""Training step time of every method's main runs, what they achieve of the machine, and where an epoch goes.

Each run of the configuration (``--env``: ``base`` by default, or e.g. ``phoenix2014``) is built as its
training recipe builds it (a distilled run wraps a fresh copy of its teacher), and takes optimiser steps
(``Trainer.train_step``: mixed precision on CUDA, clipping) on a synthetic batch shaped like its data view:
``--frames`` frames per clip at its crop (resized for low-resolution students), flow and keypoints when it
reads them, a high-resolution view for a CRKD teacher. Prints the median seconds per step, the step's counted
GFLOP (``FlopCounterMode``: matrix products and convolutions, forward and backward), the GFLOP/s achieved and
their share of the machine's attainable rate (the better of a large GEMM and a large Conv3d, measured in the
same process on the same device and threads), and the epoch time this implies on the corpus
(``ceil(train videos / batch) x step``). The weights are untrained; step time does not depend on them.

``--compare`` times the reference recipe (``training.trainer.REFERENCE_RECIPE``: every speed switch off, batches
of 2 in one process) and the configured one (with ``--set`` switches), each on its own batch size, their steps
interleaved, and prints the speed-up per clip: a ratio that holds on a machine shared with other work, where
absolute times do not. A run configured for several processes (``ddp``) is timed per process here; ``--epoch``
trains it as configured, through ``torchrun``. ``--profile RUN`` prints
the top operators of one step of RUN (of both paths with ``--compare``). ``--epoch`` trains one real epoch of
each run on the preprocessed corpus (``--data``; both paths with ``--compare``) and splits it into building the
run (a distilled run's teacher-target cache), waiting for batches, steps, dev evaluation and checkpoint.

Run: ``uv run signdistill bench step-times [--env ENV] [--device cuda] [--compare] [--epoch] [--profile RUN]``.
Torch and the core only (no Kedro) with ``--params conf/base/parameters_*.yml``: the runs of those files.
"""

from __future__ import annotations

import json
import math
import statistics
import tempfile
import time
from pathlib import Path
from typing import Annotated

import pandas as pd
import torch
import typer
import yaml

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
from signdistill.benchmarks._epoch import epoch_breakdown, format_epochs
from signdistill.benchmarks._rates import attainable_gflops, count_flops, top_operators
from signdistill.benchmarks.method_seeds import run_params
from signdistill.data.atomic import atomic_json
from signdistill.data.vocabulary import Vocabulary
from signdistill.metrics.efficiency import sync_device
from signdistill.paths import DATA, DataPaths
from signdistill.training.recipes import build_model
from signdistill.training.spec import RunSpec, input_size
from signdistill.training.trainer import REFERENCE_RECIPE, TrainConfig, Trainer, resolve_device

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
    size = input_size(params)
    lengths = torch.tensor([frames - 8 * i for i in range(batch)])
    glosses = min(6, max(1, int(lengths[-1]) // 12))  # as many as the shortest clip's CTC alignment can take
    labels = torch.randint(1, len(vocab), (batch * glosses,))
    out = {"video": torch.randint(0, 255, (batch, frames, size, size, 3), dtype=torch.uint8), "lengths": lengths,
           "labels": labels, "label_lengths": torch.full((batch,), glosses), "ids": [str(i) for i in range(batch)]}
    if teacher_view and params.get("resize"):
        out["video_teacher"] = torch.randint(0, 255, (batch, frames, crop, crop, 3), dtype=torch.uint8)
    streams = params.get("streams") or []
    if "flow" in streams:
        out["flow"] = torch.randn(batch, frames, 2, crop // 2, crop // 2)
    if "keypoints" in streams:
        out["keypoints"] = torch.rand(batch, frames, 133, 3) * (crop // 2)
    return out


def build_trainer(config: dict, run: str, teacher: str | None, vocab: Vocabulary, device: str, switches: dict,
                  checkpoints: Path) -> Trainer:
    """``run`` (of loaded parameters ``config``) as its recipe builds it, seeded, its training section overridden by
    ``switches``; a distilled run wraps a fresh copy of its teacher."""
    params = run_params(config, run)
    torch.manual_seed(0)
    teacher_model = build_model(RunSpec.from_params(run_params(config, teacher), teacher), vocab) if teacher else None
    model = build_model(RunSpec.from_params(params, run), vocab, teacher_model)
    trainer = Trainer(model, None, lambda m: {}, TrainConfig(**{**params["train"], "device": device, **switches}),
                      checkpoints)
    trainer.model.train()
    return trainer


def step_seconds(config: dict, method: str, run: str, teacher: str | None, vocab: Vocabulary, frames: int,
                 device: str, repeats: int, variants: dict[str, dict] | None = None, flops: bool = False) -> dict:
    """Median seconds of one training step of ``run`` under each of ``variants`` (name -> training switches;
    default: the run as configured), their steps interleaved on the same batch, the first of each untimed
    (caches, autotuning). With ``flops`` the step's counted FLOPs too."""
    variants = variants or {"new": {}}
    params = run_params(config, run)
    with tempfile.TemporaryDirectory() as tmp:
        trainers = {name: build_trainer(config, run, teacher, vocab, device, switches, Path(tmp) / name)
                    for name, switches in variants.items()}
        first = next(iter(trainers.values()))
        batches = {}
        for name, trainer in trainers.items():
            torch.manual_seed(0)
            batches[name] = synthetic_batch(params, trainer.config.batch_size, frames, vocab, teacher is not None)
        times: dict[str, list[float]] = {name: [] for name in trainers}
        for i in range(repeats + 1):
            for name, trainer in trainers.items():
                sync_device(trainer.device)
                start = time.perf_counter()
                if trainer.train_step(batches[name]) is None:
                    raise SystemExit(f"{run}: the synthetic batch's loss is not finite (too few --frames for "
                                     "its labels?): a skipped step times no backward")
                sync_device(trainer.device)
                if i:
                    times[name].append(time.perf_counter() - start)
        last = list(trainers.values())[-1]
        row = {"method": method, "run": run, "batch": last.config.batch_size, "epochs": last.config.epochs,
               "device": str(first.device)}
        for name, values in times.items():
            row[f"{name}_step_s" if len(times) > 1 else "step_s"] = statistics.median(values)
            row[f"{name}_batch"] = trainers[name].config.batch_size
        if len(times) > 1:
            row["step_s"] = row[f"{list(times)[-1]}_step_s"]
        if flops:
            name = list(trainers)[-1]
            row["gflop"] = count_flops(lambda: last.train_step(batches[name])) / 1e9
    return row


def loss_agreement(config: dict, run: str, teacher: str | None, vocab: Vocabulary, frames: int, device: str,
                   variants: dict[str, dict], steps: int) -> dict:
    """Losses of ``steps`` optimiser steps of each variant on one fixed synthetic batch (each from the same seeded
    weights), and the largest relative difference of the others' from the first's over the steps."""
    params = run_params(config, run)
    losses = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, switches in variants.items():
            trainer = build_trainer(config, run, teacher, vocab, device, switches, Path(tmp))
            torch.manual_seed(1)
            batch = synthetic_batch(params, trainer.config.batch_size, frames, vocab, teacher is not None)
            losses[name] = [(trainer.train_step(batch) or {"loss": math.nan})["loss"] for _ in range(steps)]
    first, *others = losses.values()
    worst = max((abs(a - b) / max(abs(a), 1e-12) for other in others for a, b in zip(first, other, strict=True)),
                default=0.0)
    return {"steps": steps, **{f"{name}_loss": values[-1] for name, values in losses.items()},
            "max_rel_diff": worst}


def profile_run(config: dict, run: str, teacher: str | None, vocab: Vocabulary, frames: int, device: str,
                variants: dict[str, dict], rows: int) -> dict[str, str]:
    """The top operators of one (warm) training step of ``run`` under each variant."""
    params = run_params(config, run)
    tables = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, switches in variants.items():
            trainer = build_trainer(config, run, teacher, vocab, device, switches, Path(tmp))
            batch = synthetic_batch(params, trainer.config.batch_size, frames, vocab, teacher is not None)
            trainer.train_step(batch)
            tables[name] = top_operators(lambda t=trainer, b=batch: t.train_step(b), trainer.device, rows)
    return tables


def format_table(rows: list[dict], peak: float) -> str:
    compare = "reference_step_s" in rows[0]
    lines = [f"{'run':<18}{'batch':>6}{'s/step':>9}" + (f"{'ref s':>9}{'per clip':>9}" if compare else "")
             + f"{'GFLOP':>8}{'GFLOP/s':>9}{'% peak':>8}{'epoch min':>10}{'budget min':>11}"]
    for r in rows:
        lines.append(f"{r['run']:<18}{r['batch']:>6}{r['step_s']:>9.3f}"
                     + (f"{r['reference_step_s']:>9.3f}{r['speedup']:>9.2f}" if compare else "")
                     + f"{r['gflop']:>8.1f}{r['gflops']:>9.1f}{100 * r['gflops'] / peak:>8.1f}"
                     f"{r['epoch_min']:>10.1f}{r['budget_min']:>11.1f}")
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
         compare: Annotated[bool, typer.Option("--compare", help="Also time the reference path (every speed switch "
                                               "off), its steps interleaved with the configured path's.")] = False,
         switches: Annotated[list[str], typer.Option("--set", metavar="KEY=VALUE ...", help="Training switches of "
                                                     "the configured path (e.g. channels_last=true).")] = [],
         profile: Annotated[str | None, typer.Option(metavar="RUN", help="Print the top operators of one step of "
                                                     "RUN (both paths with --compare) instead of timing.")] = None,
         epoch: Annotated[bool, typer.Option("--epoch", help="Also train one real epoch of each run on the corpus "
                                             "and split it into steps, data loading, evaluation, checkpoint.")
                          ] = False,
         check_steps: Annotated[int, typer.Option(metavar="N", help="Also train each path N steps on one fixed "
                                                  "batch and compare their losses (0: skip).")] = 0,
         gemm: Annotated[int, typer.Option(metavar="N", help="Side of the square GEMM that measures the attainable "
                                           "rate.")] = 2048,
         threads: Annotated[int | None, typer.Option(metavar="N", help="Intra-op threads (default: torch's).")
                            ] = None,
         device: DeviceOption = "auto",
         out: Annotated[Path, typer.Option(metavar="PATH", help="Where the JSON result is written.")
                        ] = DATA.report("step_times.json")) -> list[dict]:
    if threads:
        torch.set_num_threads(threads)
    paths = DataPaths(data_root(data, env, conf, params))
    config = parameters(env, conf, params)
    vocab = (Vocabulary.from_dict(json.loads(paths.vocabulary.read_text())) if paths.vocabulary.exists()
             else Vocabulary(tuple(f"G{i:03d}" for i in range(42))))
    new = parse_switches(switches)
    variants = {"reference": REFERENCE_RECIPE, "new": new} if compare else {"new": new}
    selected = [(m, r, t) for m, r, t in RUNS
                if (not runs or r in runs) and (not params or r in config)]  # files read alone: the runs they hold
    if profile is not None:
        teacher = next((t for _, r, t in RUNS if r == profile), None)
        for name, table in profile_run(config, profile, teacher, vocab, frames, device, variants, 20).items():
            print(f"{profile}, {name} path (torch threads {torch.get_num_threads()}):\n{table}")
        return []
    if train_videos is None:
        if not paths.corpus_index.exists():
            raise SystemExit(f"no {paths.corpus_index}: run the preprocess pipeline or pass --train-videos")
        train_videos = int((pd.read_csv(paths.corpus_index).split == "train").sum())
    rates = attainable_gflops(resolve_device(device), gemm)
    peak = max(rates.values())
    print(f"torch threads {torch.get_num_threads()}, attainable GFLOP/s: "
          + ", ".join(f"{k} {v:.1f}" for k, v in rates.items()), flush=True)
    rows = []
    for method, run, teacher in selected:
        row = step_seconds(config, method, run, teacher, vocab, frames, device, repeats, variants, flops=True)
        if compare:  # per clip: the two recipes' batches may differ
            row["speedup"] = (row["reference_step_s"] / row["reference_batch"]) / (row["new_step_s"] / row["new_batch"])
        row["gflops"] = row["gflop"] / row["step_s"]
        row["peak_fraction"] = row["gflops"] / peak
        row["epoch_min"] = math.ceil(train_videos / row["batch"]) * row["step_s"] / 60
        row["budget_min"] = row["epoch_min"] * row["epochs"]
        if check_steps:
            row["agreement"] = loss_agreement(config, run, teacher, vocab, frames, device, variants, check_steps)
        if epoch:
            one_process = {k: {**v, "ddp": {}} if k == "reference" else v for k, v in variants.items()}
            row["epoch"] = epoch_breakdown(config, run, teacher, paths, device, one_process)  # reference: 1 process
        rows.append(row)
        print(json.dumps(row), flush=True)
    atomic_json(out, {"frames": frames, "train_videos": train_videos, "threads": torch.get_num_threads(),
                      "attainable_gflops": rates, "switches": new, "runs": rows})
    if rows:
        print(format_table(rows, peak))
    for row in rows:
        if "agreement" in row:
            agreement = row["agreement"]
            print(f"{row['run']}: losses after {agreement['steps']} steps on one batch: "
                  + ", ".join(f"{k} {v:.6f}" for k, v in agreement.items() if k.endswith("_loss"))
                  + f"; largest relative difference over the steps {agreement['max_rel_diff']:.2e}")
    if epoch and rows:
        print(format_epochs(rows))
    return rows


def parse_switches(items: list[str]) -> dict:
    """``KEY=VALUE`` training switches, values read as YAML scalars (``true``, ``4``, ``fused``)."""
    switches = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or key not in TrainConfig.__dataclass_fields__:
            raise SystemExit(f"--set {item!r}: expected KEY=VALUE with KEY a training parameter")
        switches[key] = yaml.safe_load(value)
    return switches


if __name__ == "__main__":
    app()
