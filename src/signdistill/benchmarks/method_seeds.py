"""Any method's runs over seeds without Kedro (a GPU machine with torch alone): does a method beat its baseline?

With Kedro, ``kedro run --pipelines seeds_<method>`` is the way (MLflow runs per seed, the verdict files); this
runner trains the same runs the same way where only the core is installed, and judges them with the same test.

Each run of a parameters file (``conf/base/parameters_crkd.yml``: ``crkd_scratch``, ``crkd_distilled``; or
``parameters_signkd.yml``, ``parameters_smkd.yml`` ...) is trained once per seed on the preprocessed corpus
under ``data/`` (and the feature store when the run reads streams), exactly as its Kedro pipeline would
train it, then decoded and scored on dev and test. A teacher (``--teacher``) is trained once (seed 0) and
frozen for every distilled run. Each training runs in a fresh spawned process; finished runs are skipped
(result files under ``<out>_runs/``, each run's model package beside its result) and a killed run resumes
from its last epoch checkpoint. Prints the per-run table, mean / std / spread per run and, for every
``*_scratch`` / ``*_distilled`` pair (or every run against ``--reference``), the gain and the verdict of
``metrics.verdict`` (one-sided Welch t-test on test WER).

Run: ``uv run python -m signdistill.benchmarks.method_seeds --name crkd [--env ENV] --teacher crkd_teacher --runs
crkd_scratch crkd_distilled --seeds 0 1 2``: the runs as ``kedro run --env`` configures them (Kedro's loader). Torch
and the core only (no Kedro), for a GPU machine, with ``--params conf/base/parameters_crkd.yml``: that file alone
(its stem names the comparison).
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import multiprocessing
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Annotated

import numpy as np
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
    evaluation_settings,
    parameters,
    section,
)
from signdistill.data.atomic import atomic_json
from signdistill.data.features import FeatureStore
from signdistill.data.store import FrameStore
from signdistill.data.vocabulary import Vocabulary
from signdistill.metrics.efficiency import count_parameters
from signdistill.metrics.verdict import seed_verdict
from signdistill.models.package_file import read_package
from signdistill.models.registry import inference_network, load_recognizer
from signdistill.paths import DATA, DataPaths
from signdistill.training.checkpoint import load_checkpoint, save_atomic
from signdistill.training.evaluate import decode_splits, score_splits
from signdistill.training.recipes import read_index
from signdistill.training.run import train_run
from signdistill.training.spec import RunInputs, RunSpec
from signdistill.training.trainer import TrainConfig

app = benchmark_app(__doc__)


def job_inputs(job: dict) -> tuple[list[dict], dict, Path, FeatureStore | None, dict | None]:
    """What a job's run is trained from, read from the preprocessed corpus under ``job["data"]``: the index, the
    vocabulary, the frame store's root, the feature store (when the run reads streams) and the frozen teacher's
    package (``job["teacher"]``: a model package, ``data/06_models/<run>.safetensors`` or a torch-saved one)."""
    data = DataPaths(Path(job["data"]))
    index = read_index(data.corpus_index)
    vocabulary = json.loads(data.vocabulary.read_text())
    features = FeatureStore(data.feature_store) if job["params"].get("streams") else None
    teacher = read_package(Path(job["teacher"])) if job.get("teacher") else None
    return index, vocabulary, data.frame_store, features, teacher


def run_job(job: dict) -> dict:
    """Train one run at one seed (distilled from ``job["teacher"]``, a package file, if given), decode dev and
    test, score them; saves the model package to ``job["save"]`` if given. Returns WERs and wall times."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")  # a spawned process
    if job.get("threads"):
        torch.set_num_threads(int(job["threads"]))
    params = job["params"]
    evaluation = job["evaluation"]
    index, vocabulary, store_root, features, teacher = job_inputs(job)
    start = time.perf_counter()
    spec = RunSpec.from_params({**params, "checkpoint_dir": job["checkpoints"]}, job["run"])
    outcome = train_run(spec, RunInputs(store_root, index, vocabulary, features, teacher))
    result, package = outcome.result, outcome.package
    train_s = time.perf_counter() - start
    if job.get("save"):
        save_atomic(package, Path(job["save"]))
    model = load_recognizer(package)
    out = {"run": job["run"], "seed": params["train"]["seed"], "epochs": params["train"]["epochs"],
           "best_epoch": result.best_epoch, "train_s": train_s, "skipped_batches": result.skipped_batches,
           "params_m": count_parameters(inference_network(model)) / 1e6}
    hypotheses = decode_splits(model, FrameStore(store_root), index, Vocabulary.from_dict(vocabulary),
                               package["data"], evaluation["decoder"], int(evaluation["beam_width"]),
                               features=features)
    for split, scores in score_splits(hypotheses, index, params.get("rules", "none")).items():
        out.update({f"{split}_{k}": float(scores[k]) for k in ("wer", "sub", "del", "ins")})
    out["wall_s"] = time.perf_counter() - start
    return out


def fresh_process(job: dict) -> dict:
    """``run_job`` in its own spawned process, one at a time (training already uses every core)."""
    return [result for _, result in fresh_processes([job], 1)][0]


def fresh_processes(jobs: list[dict], concurrent: int, target: Callable[[dict], dict] = run_job
                    ) -> Iterator[tuple[int, dict]]:
    """``target`` (default ``run_job``) on every job, each in its own spawned process, ``concurrent`` at a time
    with the cores shared out. Small networks use cores poorly, so single-threaded trainings side by side give more
    throughput than one on every core (and the per-epoch beam search is single-threaded anyway). Yields (job
    index, result) as each finishes."""
    threads = max(1, (os.cpu_count() or 1) // concurrent) if concurrent > 1 else None
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(concurrent, mp_context=context, max_tasks_per_child=1) as pool:
        futures = {pool.submit(target, {**job, "threads": threads}): i for i, job in enumerate(jobs)}
        for future in as_completed(futures):
            yield futures[future], future.result()


def spread_summary(runs: list[dict], key: str = "run") -> dict:
    """Mean, std and spread (max - min) of dev/test WER for each value of ``key``."""
    table: dict = {}
    for name in sorted({r[key] for r in runs}):
        mine = [r for r in runs if r[key] == name]
        row = {"seeds": [r["seed"] for r in mine], "train_s_mean": float(np.mean([r["train_s"] for r in mine]))}
        for metric in ("dev_wer", "test_wer", "test_del", "test_ins"):
            values = np.array([r[metric] for r in mine])
            row[metric] = {"mean": float(values.mean()), "std": float(values.std(ddof=1)) if len(values) > 1 else 0.0,
                           "spread": float(values.max() - values.min()), "values": values.tolist()}
        table[name] = row
    return table


def distillation_gains(table: dict, reference: str | None = None) -> dict:
    """Each method run against its baseline, judged by the project's seed verdict (``metrics.verdict``: a
    one-sided Welch t-test on test WER, Mann-Whitney U beside it): every ``<x>_scratch`` / ``<x>_distilled``
    pair, or, given ``reference``, every other run against it."""
    pairs = ([(reference, name) for name in table if name != reference] if reference else
             [(name.replace("_distilled", "_scratch"), name) for name in table
              if name.endswith("_distilled") and name.replace("_distilled", "_scratch") in table])
    gains = {}
    for base, name in pairs:
        verdict = seed_verdict(table[name]["test_wer"]["values"], table[base]["test_wer"]["values"])
        gains[name] = {"against": base, "gain": -verdict.difference, **verdict.as_dict()}
    return gains


def format_table(runs: list[dict], table: dict, gains: dict) -> str:
    lines = [f"{'run':<18}{'seed':>5}{'best':>5}{'dev WER':>9}{'test WER':>9}{'del':>6}{'ins':>6}{'params M':>9}"
             f"{'train s':>9}"]
    for r in sorted(runs, key=lambda r: (r["run"], r["seed"])):
        lines.append(f"{r['run']:<18}{r['seed']:>5}{r['best_epoch']:>5}{r['dev_wer']:>9.1f}{r['test_wer']:>9.1f}"
                     f"{r['test_del']:>6.1f}{r['test_ins']:>6.1f}{r['params_m']:>9.2f}{r['train_s']:>9.0f}")
    for name, row in table.items():
        d, t = row["dev_wer"], row["test_wer"]
        lines.append(f"{name}: dev {d['mean']:.1f} +- {d['std']:.1f} (spread {d['spread']:.1f}), test {t['mean']:.1f} "
                     f"+- {t['std']:.1f} (spread {t['spread']:.1f}), train {row['train_s_mean']:.0f} s per run")
    for name, g in gains.items():
        lines.append(f"{name}: {g['gain']:+.1f} test WER points against {g['against']} "
                     f"(95% CI of the difference [{g['ci_low']:.1f}, {g['ci_high']:.1f}]): {g['verdict']} "
                     f"(one-sided Welch p={g['welch_p']:.3f}, Mann-Whitney p={g['mann_whitney_p']:.3f})")
    return "\n".join(lines)


def _scalar(text: str) -> object:
    """YAML value, except that ``2e-3`` is a float (YAML 1.1 reads it as a string)."""
    value = yaml.safe_load(text)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def apply_overrides(params: dict, overrides: list[str]) -> dict:
    """``train.lr=3e-3``-style overrides (values parsed as YAML) applied to a copy of ``params``; a training
    parameter the run leaves at its default (``train.batch_size``) may be set too."""
    params = copy.deepcopy(params)
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"override {item!r} is not KEY=VALUE")
        *path, last = key.split(".")
        node = params
        for part in path:
            node = node[part]
        if last not in node and not (path == ["train"] and last in TrainConfig.__dataclass_fields__):
            raise KeyError(f"override {item!r}: no parameter {key!r}")
        node[last] = _scalar(value)
    return params


def run_params(source: Path | dict, run: str) -> dict:
    """A run's recogniser parameters (its ``recognizer`` section), from loaded parameters
    (``benchmarks._conf.parameters``) or a ``parameters_<method>.yml`` read alone."""
    sections = source if isinstance(source, dict) else yaml.safe_load(Path(source).read_text())
    name = "the configuration" if isinstance(source, dict) else str(source)
    return copy.deepcopy(section(sections, run, name)["recognizer"])


def _run_params(source: Path | dict, run: str, seed: int, epochs: int | None, overrides: list[str],
                device: str) -> dict:
    params = apply_overrides(run_params(source, run), overrides)
    params["train"].update({"seed": seed, "device": device, **({"epochs": epochs} if epochs else {})})
    return params


def pipeline_checkpoints(source: Path | dict, run: str, seed: int, tag_extra: str) -> Path:
    """The run's own ``checkpoint_dir`` (where its Kedro pipeline checkpoints) for its configured seed, None for
    other seeds: the pipeline resumes a checkpoint of the same training configuration, so only that run exactly
    may go there. Overrides (``--set``, ``--epochs``) make every seed another run: an error."""
    params = run_params(source, run)
    if tag_extra:
        raise SystemExit(f"--pipeline-checkpoints: {run} with {tag_extra} is not the run its pipeline trains "
                         "(no --set or --epochs)")
    if seed != int(params["train"].get("seed", 0)):
        return None
    return RunSpec.from_params(params, run, checkpoint_root(source)).checkpoint_dir


def checkpoint_root(source: Path | dict) -> Path:
    """Where runs checkpoint unless they say otherwise: the configuration's ``checkpoint_root`` (a quick
    environment's own), else ``data/06_models/checkpoints``."""
    root = source.get("checkpoint_root") if isinstance(source, dict) else None
    return Path(root) if root else DATA.checkpoints


@app.command(cls=MultiValueCommand, help=summary(__doc__))
def main(runs: Annotated[list[str], typer.Option(metavar="RUN ...", help="The runs trained over seeds.")],
         teacher_run: Annotated[str | None, typer.Option("--teacher", metavar="RUN", help="Run name of the frozen "
                                                         "teacher (trained once, seed 0).")] = None,
         seeds: Annotated[list[int], typer.Option(metavar="N ...", help="Seeds of every run.")] = [0, 1, 2],
         epochs: Annotated[int | None, typer.Option(metavar="N", help="Override every run's epochs.")] = None,
         overrides: Annotated[list[str], typer.Option("--set", metavar="KEY=VALUE ...", help="Parameter overrides, "
                                                      "e.g. train.lr=3e-3 (YAML values).")] = [],
         device: DeviceOption = "auto",
         jobs: Annotated[int, typer.Option(metavar="N", help="Runs trained side by side, the cores shared out.")] = 1,
         pipeline_dirs: Annotated[bool, typer.Option(
             "--pipeline-checkpoints", help="Checkpoint each run where its Kedro pipeline does (the run's "
             "checkpoint_dir), so that e.g. `kedro run --pipelines ablations_smkd` resumes the finished trainings; "
             "only for the configured seed (other seeds as without it), not with --epochs or --set.")] = False,
         name: Annotated[str | None, typer.Option(metavar="NAME", help="What the comparison is called: its results "
                                                  "go to data/08_reporting/<NAME>_seeds (default: the --params "
                                                  "file's method, else the first run).")] = None,
         env: EnvOption = "base",
         conf: ConfOption = Path("conf"),
         params: ParamsOption = [],
         data: DataOption = None,
         out: Annotated[Path | None, typer.Option(metavar="PATH", help="Results (default: "
                                                  "data/08_reporting/<NAME>_seeds).")] = None,
         reference: Annotated[str | None, typer.Option(metavar="NAME=GLOB", help="Finished runs (result JSONs) every "
                                                       "run is compared with, e.g. baseline='data/08_reporting/"
                                                       "baseline_calibration_runs/student_res_seed*_e24.json'.")
                              ] = None) -> dict:
    config = parameters(env, conf, params)
    evaluation = evaluation_settings(config, env, params)
    data_dir = data_root(data, env, conf, params)
    name = name or (Path(params[0]).stem.removeprefix("parameters_") if params else runs[0])
    out = out or DATA.report(f"{name}_seeds")
    runs_dir = out.parent / (out.name + "_runs")
    runs_dir.mkdir(parents=True, exist_ok=True)
    tag_extra = f"_e{epochs}" if epochs else ""
    if overrides:  # runs with other parameters never reuse each other's results
        tag_extra += "_" + hashlib.sha1(" ".join(sorted(overrides)).encode()).hexdigest()[:8]

    def job(run: str, seed: int, teacher: str | None = None, save: Path | None = None) -> dict:
        params = _run_params(config, run, seed, epochs, overrides, device)
        checkpoints = DataPaths(data_dir).checkpoints / "seeds" / f"{run}_seed{seed}{tag_extra}"
        if pipeline_dirs:
            checkpoints = pipeline_checkpoints(config, run, seed, tag_extra) or checkpoints
        return {"data": str(data_dir), "evaluation": evaluation, "params": params, "run": run, "teacher": teacher,
                "save": str(save) if save else None, "checkpoints": str(checkpoints)}

    teacher_file = None
    if teacher_run:
        teacher_file = runs_dir / f"{teacher_run}_seed0{tag_extra}.pt"
        if load_checkpoint(teacher_file) is None:
            result = fresh_process(job(teacher_run, 0, save=teacher_file))
            atomic_json(runs_dir / f"{teacher_run}_seed0{tag_extra}.json", result)
    pending, files = [], []
    for run in runs:
        for seed in seeds:
            done = runs_dir / f"{run}_seed{seed}{tag_extra}.json"
            files.append(done)
            if not done.exists():
                distilled = "distill" in _run_params(config, run, seed, None, [], device)
                if distilled and teacher_file is None:
                    raise SystemExit(f"{run} is distilled: name its teacher with --teacher")
                package = done.with_suffix(".pt")  # kept for later analysis (e.g. benchmarks.gsba_accuracy)
                pending.append((done, job(run, seed, str(teacher_file) if distilled else None, package)))
    for i, result in fresh_processes([j for _, j in pending], jobs):  # each saved as soon as it finishes
        atomic_json(pending[i][0], result)
    results = [json.loads(done.read_text()) for done in files]
    reference_name = None
    if reference:
        reference_name, _, pattern = reference.partition("=")
        files = sorted(Path().glob(pattern))
        if not files:
            raise SystemExit(f"--reference {reference}: no result files match {pattern}")
        results += [{**json.loads(f.read_text()), "run": reference_name} for f in files]
    table = spread_summary(results)
    gains = distillation_gains(table, reference_name)
    atomic_json(out.with_suffix(".json"), {"runs": results, "summary": table, "gains": gains})
    print(format_table(results, table, gains))
    return {"summary": table, "gains": gains}


if __name__ == "__main__":
    app()
