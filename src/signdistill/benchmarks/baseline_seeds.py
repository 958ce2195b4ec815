"""Baseline WER over seeds at the teacher and the student resolution: SynthSign's difficulty calibration.

Distillation can only show something when the corpus is neither solved nor hopeless at the teacher's
resolution and clearly harder at the student's. This script trains the VAC/SMKD baseline of
``conf/base/parameters_baseline.yml`` once per seed and resolution on the preprocessed corpus (the
``preprocess`` pipeline's outputs under ``data/``), decodes dev and test with the evaluation decoder, and
prints dev/test WER per run, their mean and spread, the student-minus-teacher gap and the wall time.
Each run is a fresh process (clean allocator, no state shared between runs); finished runs are
skipped when their result file exists, and a killed run resumes from its last epoch checkpoint.

Run: ``uv run python -m signdistill.benchmarks.baseline_seeds --seeds 0 1 2 [--env ENV]``. Torch and the core only
(no Kedro), for a GPU machine, with ``--params conf/base/parameters_baseline.yml``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from signdistill.benchmarks._cli import JSON_HELP, MultiValueCommand, benchmark_app, summary
from signdistill.benchmarks._conf import (
    ConfOption,
    DataOption,
    DeviceOption,
    EnvOption,
    ParamsOption,
    data_root,
    evaluation_settings,
    parameters,
)
from signdistill.benchmarks.method_seeds import apply_overrides, fresh_process, run_params, spread_summary
from signdistill.data.atomic import atomic_json
from signdistill.paths import DATA, DataPaths

app = benchmark_app(__doc__)

TARGET_TEACHER = (10.0, 40.0)  # test WER band at the teacher resolution (percent)
TARGET_GAP = 5.0  # the student resolution must be at least this many points worse


def _params(config: dict, resolution: str, seed: int, epochs: int | None, device: str,
            overrides: list[str]) -> dict:
    params = apply_overrides(run_params(config, resolution), overrides)
    params["train"]["seed"] = seed
    params["train"]["device"] = device
    if epochs is not None:
        params["train"]["epochs"] = epochs
    return params


def _name(run: dict) -> str:
    """The resolution a result belongs to (results written before the shared runner said "resolution")."""
    return run.get("run", run.get("resolution"))


def summarise(runs: list[dict]) -> dict:
    """Mean, std and spread (max - min) of dev/test WER per resolution, and the calibration verdict."""
    table = spread_summary([{**r, "run": _name(r)} for r in runs])
    if {"teacher_res", "student_res"} <= set(table):
        teacher, student = table["teacher_res"]["test_wer"]["mean"], table["student_res"]["test_wer"]["mean"]
        table["gap_test_wer"] = student - teacher
        in_band = TARGET_TEACHER[0] <= teacher <= TARGET_TEACHER[1]
        table["calibrated"] = bool(in_band and student - teacher >= TARGET_GAP)
    return table


def format_table(runs: list[dict], summary: dict) -> str:
    lines = [f"{'resolution':<12}{'seed':>5}{'epochs':>7}{'best':>5}{'dev WER':>9}{'test WER':>9}{'del':>6}"
             f"{'ins':>6}{'train s':>9}"]
    for r in sorted(runs, key=lambda r: (_name(r), r["seed"])):
        lines.append(f"{_name(r):<12}{r['seed']:>5}{r['epochs']:>7}{r['best_epoch']:>5}{r['dev_wer']:>9.1f}"
                     f"{r['test_wer']:>9.1f}{r['test_del']:>6.1f}{r['test_ins']:>6.1f}{r['train_s']:>9.0f}")
    for res, row in summary.items():
        if isinstance(row, dict):
            d, t = row["dev_wer"], row["test_wer"]
            lines.append(f"{res}: dev {d['mean']:.1f} +- {d['std']:.1f} (spread {d['spread']:.1f}), "
                         f"test {t['mean']:.1f} +- {t['std']:.1f} (spread {t['spread']:.1f}), "
                         f"train {row['train_s_mean']:.0f} s per run")
    if "gap_test_wer" in summary:
        lines.append(f"student - teacher test WER: {summary['gap_test_wer']:+.1f} points; target: teacher in "
                     f"{TARGET_TEACHER[0]:g}-{TARGET_TEACHER[1]:g}%, gap >= {TARGET_GAP:g}: "
                     f"{'MET' if summary['calibrated'] else 'NOT MET'}")
    return "\n".join(lines)


def plot(summary: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = {k: v for k, v in summary.items() if isinstance(v, dict)}
    fig, ax = plt.subplots(figsize=(4.5, 3))
    for i, split in enumerate(("dev_wer", "test_wer")):
        means = [rows[r][split]["mean"] for r in rows]
        errors = [rows[r][split]["std"] for r in rows]
        ax.bar(np.arange(len(rows)) + 0.38 * i, means, 0.36, yerr=errors, capsize=3, label=split.split("_")[0])
        for x, values in zip(np.arange(len(rows)) + 0.38 * i, (rows[r][split]["values"] for r in rows), strict=True):
            ax.scatter([x] * len(values), values, color="k", s=8, zorder=3)
    ax.axhspan(*TARGET_TEACHER, color="g", alpha=0.08, label="teacher target")
    ax.set_xticks(np.arange(len(rows)) + 0.19, list(rows))
    ax.set_ylabel("WER (%)")
    ax.legend(fontsize=7)
    ax.set_title("Baseline over seeds (mean, std, runs)", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


@app.command(cls=MultiValueCommand, help=summary(__doc__))
def main(seeds: Annotated[list[int], typer.Option(metavar="N ...", help="Seeds of every resolution.")] = [0, 1, 2],
         resolutions: Annotated[list[str], typer.Option(metavar="RUN ...", help="The baseline's runs.")
                                ] = ["teacher_res", "student_res"],
         epochs: Annotated[int | None, typer.Option(metavar="N", help="Override the configured epochs.")] = None,
         device: DeviceOption = "auto",
         env: EnvOption = "base",
         conf: ConfOption = Path("conf"),
         params: ParamsOption = [],
         data: DataOption = None,
         out: Annotated[Path, typer.Option(metavar="PATH", help="Results: PATH.json, PATH.png and PATH_runs/.")
                        ] = DATA.report("baseline_calibration"),
         overrides: Annotated[list[str], typer.Option("--set", metavar="KEY=VALUE ...", help="Parameter overrides, "
                                                      "e.g. train.lr=3e-3 train.batch_size=2 (YAML values).")] = [],
         as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False) -> dict:
    config = parameters(env, conf, params)
    evaluation = evaluation_settings(config, env, params)
    data_dir = data_root(data, env, conf, params)
    runs_dir = out.parent / (out.name + "_runs")
    runs_dir.mkdir(parents=True, exist_ok=True)
    runs = []
    for resolution in resolutions:
        for seed in seeds:
            run = _params(config, resolution, seed, epochs, device, overrides)
            tag = f"{resolution}_seed{seed}_e{run['train']['epochs']}"
            if overrides:  # runs with other parameters never reuse each other's results
                tag += "_" + hashlib.sha1(" ".join(sorted(overrides)).encode()).hexdigest()[:8]
            done = runs_dir / f"{tag}.json"
            if done.exists():
                runs.append(json.loads(done.read_text()))
                continue
            job = {"data": str(data_dir), "evaluation": evaluation, "params": run, "run": resolution,
                   "checkpoints": str(DataPaths(data_dir).checkpoints / "calibration" / tag)}
            result = fresh_process(job)
            atomic_json(done, result)
            runs.append(result)
            print(json.dumps(result), flush=True)
    table = summarise(runs)
    atomic_json(out.with_suffix(".json"), {"runs": runs, "summary": table})
    plot(table, out.with_suffix(".png"))
    print(json.dumps(table, indent=1) if as_json else format_table(runs, table))
    return table


if __name__ == "__main__":
    app()
