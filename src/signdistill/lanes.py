"""``signdistill lanes``: a seeds pipeline on every core with every seed's MLflow run kept.

Kedro's ``ParallelRunner`` trains seeds side by side but without the MLflow hooks. Here each core gets a *lane*: a
``kedro run --namespaces`` process of its own, one OpenMP thread each (two processes of two threads on two cores
run several times slower than one), given seeds of about equal expected time. Three steps, each a ``kedro run``:

1. what the seeds read and the pipeline makes once (the corpus, the frame store, a teacher), with every thread;
2. the lanes, side by side, each training and evaluating its seeds (a seed whose model exists is not planned);
3. the pipeline once more for what is missing (a seed trained but not evaluated when its lane was killed), then
   the verdict node alone: a finished seed is neither trained nor evaluated again.

A lane that fails stops the command before the verdict with its log named; finished seeds are kept and a killed
seed resumes from its checkpoint, so the same command continues. The wall time of each step is printed and kept
in ``<data>/08_reporting/<pipeline>_lanes.json``.
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import typer
from tqdm.auto import tqdm

from signdistill.config import data_root
from signdistill.data.atomic import atomic_write
from signdistill.paths import REPORTING
from signdistill.training.history import epoch_times
from signdistill.training.seeds import split_seed_run

LOGS = Path("logs/lanes")


@dataclass
class LanePlan:
    """What ``lanes`` runs: the datasets step 1 makes (``shared``), each lane's seed namespaces and what each seed
    is expected to cost: seconds (``timed``) or, where no run of the pipeline has trained yet, epochs."""
    pipeline: str
    shared: list[str]
    lanes: list[list[str]]
    costs: dict[str, float] = field(default_factory=dict)
    timed: bool = False
    shared_s: float | None = None  # the shared runs' (a teacher's) measured wall seconds, when they have trained
    verdicts: list[str] = field(default_factory=list)  # the verdict nodes, run last

    def cost(self, namespaces: list[str]) -> str:
        total = sum(self.costs[n] for n in namespaces)
        return f"~{total / 60:.0f} min" if self.timed else f"{total:.0f} epochs"


def balanced_lanes(costs: dict[str, float], lanes: int) -> list[list[str]]:
    """``costs`` (namespace -> cost) split into at most ``lanes`` lists of about equal sums: the largest first, each
    to the lane with the least so far (longest-processing-time first)."""
    loads: list[tuple[float, list[str]]] = [(0.0, []) for _ in range(max(1, lanes))]
    for name in sorted(costs, key=lambda n: (-costs[n], n)):
        index = min(range(len(loads)), key=lambda i: loads[i][0])
        loads[index] = (loads[index][0] + costs[name], [*loads[index][1], name])
    return [sorted(names) for _, names in loads if names]


def epoch_seconds(history: dict | None) -> float | None:
    """The median wall seconds of an epoch of a run's ``history``."""
    times = epoch_times(history)
    return statistics.median(times) if any(times) else None


def plan_lanes(name: str, pipeline, params: dict, finished, lanes: int, history=lambda namespace: None  # noqa: ANN001
               ) -> LanePlan:
    """The plan for registered pipeline ``name``: its seed namespaces (``<run>_seed<s>``) whose ``<ns>.model``
    ``finished`` does not say exists, split by cost: the run's epochs times its seconds per epoch as any of its
    seeds' ``history`` (namespace -> training history or None) measured it, the median of the measured runs' for
    a run not measured yet; ``shared``: what their nodes read that the pipeline's other nodes make."""
    from signdistill.training.trainer import TrainConfig  # torch: not for every `signdistill` start
    seeded = [n for n in pipeline.nodes if n.namespace and split_seed_run(n.namespace)[1] is not None]
    if not seeded:
        raise ValueError(f"pipeline {name} trains no seeds (a seeds_<method> pipeline does)")
    made_by_seeds = {out for n in seeded for out in n.outputs}
    made_once = {out for n in pipeline.nodes if n not in seeded for out in n.outputs}
    shared = sorted({i for n in seeded for i in n.inputs if i in made_once and i not in made_by_seeds})
    namespaces = sorted({n.namespace for n in seeded})
    per_epoch: dict[str, float] = {}
    for namespace in namespaces:
        run = split_seed_run(namespace)[0]
        if run not in per_epoch and (seconds := epoch_seconds(history(namespace))):
            per_epoch[run] = seconds
    typical = statistics.median(per_epoch.values()) if per_epoch else 1.0
    costs = {}
    for namespace in (n for n in namespaces if not finished(f"{n}.model")):
        run = split_seed_run(namespace)[0]
        epochs = float(params.get(run, {}).get("recognizer", {}).get("train", {}).get("epochs", TrainConfig.epochs))
        costs[namespace] = epochs * per_epoch.get(run, typical)
    shared_runs = [history(d.removesuffix(".model")) for d in shared if d.endswith(".model")]
    shared_s = sum(sum(epoch_times(h)) for h in shared_runs) if shared_runs and all(shared_runs) else None
    verdicts = sorted(n.name for n in pipeline.nodes if n.name.endswith("_seeds_verdict"))
    return LanePlan(name, shared, balanced_lanes(costs, lanes), costs, timed=bool(per_epoch), shared_s=shared_s,
                    verdicts=verdicts)


def kedro_command(pipeline: str, env: str | None, *options: str) -> list[str]:
    return [sys.executable, "-m", "kedro", "run", "--pipelines", pipeline, *(["--env", env] if env else []), *options]


def _run_step(label: str, command: list[str], log: Path, environ: dict[str, str]) -> None:
    log.parent.mkdir(parents=True, exist_ok=True)
    print(f"[{label}] {' '.join(command[2:])}  (log: {log})", flush=True)
    with open(log, "w") as out:
        code = subprocess.run(command, check=False, stdout=out, stderr=subprocess.STDOUT, env=environ).returncode
    if code:
        sys.exit(f"{label} failed (exit {code}): see {log}")


def _wait_for_lanes(running: list, plan: LanePlan, finished, poll_s: float = 2.0) -> list[str]:  # noqa: ANN001
    """Until every lane's process ends: a bar of the seeds whose model is written (``finished``), and a line as
    each lane ends (a failed one at once, not after the others). Returns the failed lanes, each with its log."""
    names = [n for lane in plan.lanes for n in lane]
    open_lanes, failed = {i for i, *_ in running}, []
    with tqdm(total=len(names), desc=f"{plan.pipeline} lanes", unit="seed") as bar:
        while open_lanes:
            time.sleep(poll_s)
            bar.update(sum(map(finished, (f"{n}.model" for n in names))) - bar.n)
            for i, log, _, process in running:
                if i in open_lanes and process.poll() is not None:
                    open_lanes.discard(i)
                    if process.returncode:
                        failed.append(f"lane {i} (exit {process.returncode}): see {log}")
                    tqdm.write(f"[lane {i}] " + ("failed" if process.returncode else "done"))
    return failed


def _run_lanes(plan: LanePlan, env: str | None, threads: int, finished) -> None:  # noqa: ANN001
    environ = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    running = []
    for i, namespaces in enumerate(plan.lanes, 1):
        log = LOGS / f"{plan.pipeline}_lane{i}.log"
        print(f"[lane {i}] {len(namespaces)} seeds, {threads} thread(s)  (log: {log})", flush=True)
        out = open(log, "w")  # noqa: SIM115 - closed when the lanes end
        command = kedro_command(plan.pipeline, env, "--namespaces", ",".join(namespaces))
        running.append((i, log, out, subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=environ,
                                                      start_new_session=True)))
    try:
        failed = _wait_for_lanes(running, plan, finished)
    except KeyboardInterrupt:  # stop every lane: Kedro's hooks end their MLflow runs KILLED, checkpoints stay
        for *_, process in running:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        raise
    finally:
        for _, _, out, _ in running:
            out.close()
    if failed:
        sys.exit("lanes failed, no verdict (finished seeds are kept; run the command again to resume): "
                 + "; ".join(failed))


def run_lanes(plan: LanePlan, env: str | None, finished, threads: int = 1) -> dict[str, float]:  # noqa: ANN001
    """Steps 1-3 (module docstring); ``finished``: whether a dataset exists (``DataCatalog.exists``), for the
    progress bar. Returns and keeps the wall seconds of each step (in the environment's data)."""
    marks = [time.perf_counter()]
    if plan.shared:
        command = kedro_command(plan.pipeline, env, "--only-missing-outputs", "--to-outputs", ",".join(plan.shared))
        _run_step("shared", command, LOGS / f"{plan.pipeline}_shared.log", dict(os.environ))
    marks.append(time.perf_counter())
    if plan.lanes:
        _run_lanes(plan, env, threads, finished)
    marks.append(time.perf_counter())
    _run_step("missing", kedro_command(plan.pipeline, env, "--only-missing-outputs"),
              LOGS / f"{plan.pipeline}_missing.log", dict(os.environ))
    if plan.verdicts:  # --only-missing-outputs skips a verdict written before: judge every seed now
        _run_step("verdict", kedro_command(plan.pipeline, env, "--nodes", ",".join(plan.verdicts)),
                  LOGS / f"{plan.pipeline}_verdict.log", dict(os.environ))
    marks.append(time.perf_counter())
    walls = {"shared_s": marks[1] - marks[0], "lanes_s": marks[2] - marks[1], "verdict_s": marks[3] - marks[2],
             "total_s": marks[3] - marks[0]}
    record = {"pipeline": plan.pipeline, "env": env, "lanes": plan.lanes, "threads_per_lane": threads,
              "planned": {n: plan.cost([n]) for lane in plan.lanes for n in lane},
              **{k: round(v, 1) for k, v in walls.items()}}
    reporting = (data_root(env) if env else data_root()) / REPORTING
    atomic_write(reporting / f"{plan.pipeline}_lanes.json", lambda tmp: tmp.write_text(json.dumps(record, indent=2)))
    return walls


def lanes(pipeline: Annotated[str, typer.Argument(metavar="PIPELINE", hidden=True)],
          count: Annotated[int | None, typer.Option("--lanes", metavar="N", help="Lanes side by side (default: one "
                                                                                 "per core).")] = None,
          env: Annotated[str | None, typer.Option(metavar="ENV", help="Kedro environment (kedro run --env).")] = None,
          dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan, run nothing.")] = False,
          fresh: Annotated[bool, typer.Option("--fresh", help="Print the plan of every seed, trained or not, at its "
                                              "run's measured seconds per epoch: what the pipeline costs from a "
                                              "fresh clone. Runs nothing.")] = False) -> None:
    """Train a seeds pipeline's seeds in parallel kedro runs, one thread each, then judge them.

    PIPELINE is a seeds pipeline (seeds_ctca). Every seed keeps its MLflow run; the same command resumes."""
    from kedro.framework.project import pipelines
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    if env:
        os.environ["KEDRO_ENV"] = env  # the seed list is read when the pipelines are built (configured_seeds)
    bootstrap_project(Path.cwd())
    if pipeline not in pipelines:
        raise typer.BadParameter(f"no pipeline {pipeline!r} (kedro registry list)", param_hint="PIPELINE")
    cores = os.cpu_count() or 1
    with KedroSession.create(project_path=Path.cwd(), env=env) as session:
        context = session.load_context()
        catalog, params = context.catalog, context.params
    def history(namespace: str) -> dict | None:
        dataset = catalog.get(f"{namespace}.history")  # the dataset's own load: the catalog logs every load
        return dataset.load() if dataset is not None and dataset.exists() else None

    plan = plan_lanes(pipeline, pipelines[pipeline], params, (lambda _: False) if fresh else catalog.exists,
                      count or cores, history)
    typer.echo(f"{pipeline}: {sum(map(len, plan.lanes))} seeds to train in {len(plan.lanes)} lanes"
               + (f", after {', '.join(plan.shared)}" if plan.shared else ""))
    if fresh and plan.shared_s is not None:
        typer.echo(f"  shared runs: ~{plan.shared_s / 60:.0f} min as they trained (data preparation not included)")
    for i, namespaces in enumerate(plan.lanes, 1):
        typer.echo(f"  lane {i}: {', '.join(namespaces)} ({plan.cost(namespaces)})")
    if dry_run or fresh:
        return
    walls = run_lanes(plan, env, catalog.exists, threads=max(1, cores // max(1, len(plan.lanes))))
    typer.echo(" ".join(f"{k.removesuffix('_s')} {v:.0f} s" for k, v in walls.items()))
