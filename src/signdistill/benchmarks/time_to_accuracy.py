"""Dev WER against wall seconds, epoch by epoch, for candidate configurations trained side by side in one run.

A candidate is ``NAME=RUN[,KEY=VALUE...]``: the run ``RUN`` of the parameters file (``--params``, SignKD's by
default) with dotted overrides (``model.width=0.25``, ``train.lr=2e-3``, ``crop=28``), e.g.
``--candidate w25=signkd_teacher,model.width=0.25``. Distilled candidates (runs with a ``distill`` section)
take the teacher package given by ``--teacher FILE`` (a ``data/06_models/<run>.safetensors`` or a ``method_seeds``
``.pt``). Each candidate trains in its own spawned process (``--jobs`` at a time, the cores shared out, so
side-by-side wall times are comparable), exactly as its pipeline would train it (``training.recipes``); after
every epoch its wall seconds since the start, train losses and dev WER are appended to
``<out>/<name>.json``, so progress can be watched and a killed benchmark resumes (checkpoints under
``<out>/checkpoints/<name>``). At the end it prints, per candidate, dev WER at each epoch with the wall time
it took to get there, the best dev WER and its test WER, and writes ``<out>/summary.json`` and a plot
``<out>/time_to_accuracy.png``.

Run: ``uv run python -m signdistill.benchmarks.time_to_accuracy --candidate a=signkd_scratch
--candidate b=signkd_scratch,train.lr=2e-3 --epochs 6 --jobs 2 [--env ENV]``. Torch and the core only (no Kedro)
with ``--params conf/base/parameters_signkd.yml``.
"""

from __future__ import annotations

import itertools
import json
import logging
import time
from pathlib import Path
from typing import Annotated

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
import typer  # noqa: E402

from signdistill.benchmarks._cli import MultiValueCommand, benchmark_app, summary  # noqa: E402
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
from signdistill.benchmarks.method_seeds import (  # noqa: E402
    apply_overrides,
    fresh_processes,
    job_inputs,
    run_params,
)
from signdistill.data.atomic import atomic_json, atomic_write  # noqa: E402
from signdistill.data.store import FrameStore  # noqa: E402
from signdistill.data.vocabulary import Vocabulary  # noqa: E402
from signdistill.metrics.efficiency import count_parameters  # noqa: E402
from signdistill.models.registry import inference_network, load_recognizer  # noqa: E402
from signdistill.paths import DATA  # noqa: E402
from signdistill.training.checkpoint import LAST, load_checkpoint  # noqa: E402
from signdistill.training.evaluate import decode_splits, score_splits  # noqa: E402
from signdistill.training.history import epoch_times  # noqa: E402
from signdistill.training.recipes import recognizer_recipe  # noqa: E402
from signdistill.training.run import train_run  # noqa: E402
from signdistill.training.spec import RunInputs, RunSpec  # noqa: E402

app = benchmark_app(__doc__)


def parse_candidate(text: str) -> tuple[str, str, list[str]]:
    """``NAME=RUN[,KEY=VALUE...]`` -> (name, run, overrides)."""
    name, sep, rest = text.partition("=")
    if not sep or not rest:
        raise typer.BadParameter(f"candidate {text!r} is not NAME=RUN[,KEY=VALUE...]")
    run, *overrides = rest.split(",")
    return name, run, overrides


def train_candidate(job: dict) -> dict:
    """Train one candidate, logging each epoch's wall time and dev WER; score the best epoch on test."""
    logging.basicConfig(level=logging.WARNING)
    if job.get("threads"):
        torch.set_num_threads(int(job["threads"]))
    params, out = job["params"], Path(job["out"])
    index, vocabulary, store_root, features, teacher = job_inputs(job)
    checkpoints = out / "checkpoints" / job["name"]
    log_file = out / f"{job['name']}.json"
    record = {"name": job["name"], "run": job["run"], "overrides": job["overrides"], "epochs": []}
    state = load_checkpoint(checkpoints / LAST)
    if state is not None and log_file.exists():  # a killed benchmark: keep the finished epochs and their clock
        record["epochs"] = [e for e in json.loads(log_file.read_text())["epochs"] if e["epoch"] <= state["epoch"]]
    clock = {"start": time.perf_counter() - (record["epochs"][-1]["wall_s"] if record["epochs"] else 0.0)}

    def on_epoch(epoch: int, metrics: dict) -> None:
        record["epochs"] = [e for e in record["epochs"] if e["epoch"] < epoch]  # none if it started afresh
        record["epochs"].append({"epoch": epoch, "wall_s": time.perf_counter() - clock["start"],
                                 **{k: v for k, v in metrics.items() if isinstance(v, int | float)}})
        atomic_json(log_file, record)

    spec = RunSpec.from_params({**params, "checkpoint_dir": str(checkpoints)}, job["run"])
    outcome = train_run(spec, RunInputs(store_root, index, vocabulary, features, teacher), on_epoch=on_epoch)
    result, package = outcome.result, outcome.package
    if len(record["epochs"]) < len(outcome.history["epochs"]):  # a DDP run's epochs ran in torchrun's ranks
        record["epochs"] = epochs_from_history(outcome.history)
    model = load_recognizer(package)
    evaluation = job["evaluation"]
    hypotheses = decode_splits(model, FrameStore(store_root), index, Vocabulary.from_dict(vocabulary),
                               package["data"], evaluation["decoder"], int(evaluation["beam_width"]),
                               features=features, splits=("test",))
    scores = score_splits(hypotheses, index, params.get("rules", "none"))["test"]
    record.update({"best_epoch": result.best_epoch, "best_dev_wer": result.best_dev_wer,
                   "test_wer": float(scores["wer"]), "test_del": float(scores["del"]),
                   "test_ins": float(scores["ins"]), "params_m": count_parameters(inference_network(model)) / 1e6,
                   "train_s": record["epochs"][-1]["wall_s"] if record["epochs"] else 0.0})
    atomic_json(log_file, record)
    return record


def epochs_from_history(history: dict) -> list[dict]:
    """A run's epochs as the records ``on_epoch`` writes, from its history (a DDP run reports no epoch to the
    launching process): ``wall_s`` sums the epochs' own seconds, so ``torchrun``'s start is not in it."""
    walls = itertools.accumulate(epoch_times(history))
    return [{**{k: v for k, v in e.items() if isinstance(v, int | float)}, "wall_s": wall}
            for e, wall in zip(history["epochs"], walls, strict=True)]


def dev_hypotheses(job: dict) -> dict[str, str]:
    """Greedy dev hypotheses of a candidate's best epoch so far (its checkpoint), e.g. to see a model that emits
    one sentence for every clip."""
    from signdistill.training.evaluate import decode_dataset

    params = job["params"]
    index, vocabulary, store_root, features, teacher = job_inputs(job)
    offline = {**params, "distill": {**params.get("distill", {}), "cache_views": 0}} if teacher else params
    spec = RunSpec.from_params(offline, job["run"])
    teacher_model = load_recognizer(teacher) if teacher is not None else None
    recipe = recognizer_recipe(spec, RunInputs(store_root, index, vocabulary, features, teacher), teacher_model)
    state = load_checkpoint(Path(job["out"]) / "checkpoints" / job["name"] / LAST)
    if state is None:
        raise SystemExit(f"candidate {job['name']} has no checkpoint")
    recipe.model.load_state_dict(state["best"]["state"])
    model = getattr(recipe.model, "student", recipe.model).eval()
    return decode_dataset(model, recipe.dev_set, recipe.vocabulary, "greedy")


def format_table(records: list[dict]) -> str:
    epochs = max(len(r["epochs"]) for r in records)
    lines = [f"{'candidate':<16}" + "".join(f"{'e' + str(e + 1):>12}" for e in range(epochs))
             + f"{'best dev':>10}{'test':>7}{'del':>6}{'params M':>9}"]
    for r in records:
        cells = "".join(f"{e['dev_wer']:>6.1f}@{e['wall_s']:>4.0f}s" for e in r["epochs"])
        cells += " " * 12 * (epochs - len(r["epochs"]))
        if "test_wer" not in r:  # unfinished (--report)
            best = min((e["dev_wer"] for e in r["epochs"]), default=float("nan"))
            lines.append(f"{r['name']:<16}{cells}{best:>10.1f}{'-':>7}{'-':>6}{'-':>9}")
            continue
        lines.append(f"{r['name']:<16}{cells}{r['best_dev_wer']:>10.1f}{r['test_wer']:>7.1f}{r['test_del']:>6.1f}"
                     f"{r['params_m']:>9.3f}")
    lines.append("cells: dev WER @ wall seconds since the candidate started (epoch by epoch); - : not finished")
    return "\n".join(lines)


def plot(records: list[dict], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(8, 5))
    for r in records:
        test = f"test {r['test_wer']:.1f}" if "test_wer" in r else "unfinished"
        ax.plot([e["wall_s"] / 60 for e in r["epochs"]], [e["dev_wer"] for e in r["epochs"]], marker="o",
                label=f"{r['name']} ({test})")
    ax.set(xlabel="wall minutes (side by side)", ylabel="dev WER (%)", title="Time to accuracy")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    atomic_write(Path(path), lambda tmp: fig.savefig(tmp, dpi=110, format="png"))
    plt.close(fig)


@app.command(cls=MultiValueCommand, help=summary(__doc__))
def main(candidate: Annotated[list[str], typer.Option(metavar="NAME=RUN[,KEY=VALUE...]", help="A candidate "
                                                      "(repeatable).")],
         teacher: Annotated[str | None, typer.Option(metavar="PATH", help="Teacher package for distilled "
                                                     "candidates.")] = None,
         epochs: Annotated[int | None, typer.Option(metavar="N", help="Override every candidate's epochs.")] = None,
         jobs: Annotated[int, typer.Option(metavar="N", help="Candidates trained side by side.")] = 2,
         device: DeviceOption = "auto",
         env: EnvOption = "base",
         conf: ConfOption = Path("conf"),
         params: ParamsOption = [],
         data: DataOption = None,
         out: Annotated[Path, typer.Option(metavar="PATH", help="Records, checkpoints, summary and plot.")
                        ] = DATA.report("time_to_accuracy"),
         report: Annotated[bool, typer.Option("--report", help="Train nothing: tabulate the candidates' records as "
                                              "they stand (finished or not).")] = False,
         hypotheses: Annotated[bool, typer.Option("--hypotheses", help="With --report: how many distinct sentences "
                                                  "each candidate's best epoch decodes on dev.")] = False,
         ) -> list[dict]:
    candidates = [parse_candidate(text) for text in candidate]
    config = parameters(env, conf, params)
    evaluation = evaluation_settings(config, env, params)
    data_dir = str(data_root(data, env, conf, params))
    out.mkdir(parents=True, exist_ok=True)
    jobs_, records = [], {}
    for name, run, overrides in candidates:
        run_config = apply_overrides(run_params(config, run), overrides)
        run_config["train"]["device"] = device
        if epochs:
            run_config["train"]["epochs"] = epochs
        if run_config.get("distill") and not teacher:
            raise SystemExit(f"candidate {name} is distilled: pass --teacher FILE")
        done = out / f"{name}.json"
        if done.exists() and ("test_wer" in json.loads(done.read_text()) or report):
            records[name] = json.loads(done.read_text())
            continue
        if report:
            raise SystemExit(f"--report: candidate {name} has no record {done}")
        jobs_.append({"name": name, "run": run, "overrides": overrides, "params": run_config, "data": data_dir,
                      "evaluation": evaluation, "out": str(out),
                      "teacher": teacher if run_config.get("distill") else None})
    if report and hypotheses:
        for name, run, overrides in candidates:
            run_config = apply_overrides(run_params(config, run), overrides)
            job = {"name": name, "run": run, "params": run_config, "data": data_dir, "out": str(out),
                   "teacher": teacher if run_config.get("distill") else None}
            decoded = dev_hypotheses(job)
            common = max(set(decoded.values()), key=list(decoded.values()).count)
            print(f"{name}: {len(set(decoded.values()))} distinct sentences on {len(decoded)} dev clips; "
                  f"most common ({list(decoded.values()).count(common)}x): {common!r}")
    for i, record in fresh_processes(jobs_, jobs, target=train_candidate):
        records[jobs_[i]["name"]] = record
        print(f"{record['name']}: best dev {record['best_dev_wer']:.1f}, test {record['test_wer']:.1f}", flush=True)
    ordered = [records[name] for name, _, _ in candidates]
    atomic_json(out / "summary.json", {"candidates": ordered})
    plot(ordered, out / "time_to_accuracy.png")
    print(format_table(ordered))
    return ordered


if __name__ == "__main__":
    app()
