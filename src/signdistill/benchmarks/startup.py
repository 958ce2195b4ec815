"""Start-up: seconds a ``kedro run`` spends before its first node, and ``signdistill --help`` / ``profile --help``.

Each project (``--project``, repeatable: a checkout to compare with, run with its own ``.venv``) is measured in
turn, round after round, so that projects compared share the machine's load. Wall-clock seconds are medians over
the rounds; ``python -X importtime`` of what ``kedro run`` imports before a node (settings, hooks, pipelines,
datasets) gives the module count and the heaviest packages, which a busy machine slows but does not reorder.

Run: ``uv run signdistill bench startup [--project ../other-checkout] [--rounds 3] [--json]``. The ``kedro run``
is ``--env quick --pipelines synth`` (its one node skips work once the quick corpus exists).
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from signdistill.benchmarks._cli import JSON_HELP, benchmark_app, print_payload, summary

app = benchmark_app(__doc__)

KEDRO_RUN = ["-m", "kedro", "run", "--env", "quick", "--pipelines", "synth"]
FIRST_NODE = "Running node"
# What `kedro run` imports before its first node: the project's settings (hooks), its pipelines and datasets.
BEFORE_FIRST_NODE = ("import signdistill.settings, signdistill.datasets\n"
                     "from signdistill.pipeline_registry import register_pipelines\nregister_pipelines()")
HEAVY = ("torch", "torchvision", "mediapipe", "mlflow", "matplotlib", "IPython", "cv2", "pandas", "kedro")


def python_of(project: Path) -> str:
    """The project's own interpreter (``.venv``), else this one."""
    venv = project / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def time_to_first_node(project: Path, via_uv: bool = False) -> tuple[float | None, float]:
    """Seconds from starting ``kedro run`` to its first "Running node" line (None: no node ran), and to its end;
    ``via_uv``: as a user types it, ``uv run kedro run ...`` (uv checks the environment first)."""
    uv_run = ["uv", "run", "--project", str(project), "kedro", *KEDRO_RUN[2:]]
    launcher = uv_run if via_uv else [python_of(project), *KEDRO_RUN]
    start = time.perf_counter()
    first = None
    with subprocess.Popen(launcher, cwd=project, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, env={**_environ(), "COLUMNS": "200"}) as process:
        for line in process.stdout:
            if first is None and FIRST_NODE in line:
                first = time.perf_counter() - start
    if process.returncode:
        raise RuntimeError(f"`kedro run` in {project} failed with exit status {process.returncode}")
    return first, time.perf_counter() - start


def command_seconds(project: Path, args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run([python_of(project), *args], cwd=project, check=True, capture_output=True, env=_environ())
    return time.perf_counter() - start


def import_profile(project: Path) -> dict:
    """Modules imported before the first node, the summed import seconds and each heavy package's cumulative
    seconds (absent: not imported)."""
    result = subprocess.run([python_of(project), "-X", "importtime", "-c", BEFORE_FIRST_NODE], cwd=project,
                            check=True, capture_output=True, text=True, env=_environ())
    rows = [(int(m[1]), int(m[2]), m[3]) for m in re.finditer(r"import time:\s+(\d+) \|\s+(\d+) \|\s*(\S+)",
                                                                result.stderr)]
    cumulative = {name: us / 1e6 for _, us, name in rows if name in HEAVY}
    return {"modules": len(rows), "import_s": round(sum(own for own, _, _ in rows) / 1e6, 2),
            "heavy_s": {name: round(cumulative[name], 2) for name in HEAVY if name in cumulative}}


def _environ() -> dict[str, str]:
    return {**os.environ, "KEDRO_DISABLE_TELEMETRY": "true", "MPLBACKEND": "Agg"}


def run(projects: list[Path], rounds: int = 3) -> dict:
    """Every measurement of every project, ``rounds`` times, interleaved; medians per project."""
    samples: dict[str, dict[str, list[float]]] = {str(p): {} for p in projects}
    for _ in range(rounds):
        for project in projects:
            first, total = time_to_first_node(project)
            timings = {"kedro_run_first_node_s": first, "kedro_run_total_s": total,
                       **({"uv_run_first_node_s": time_to_first_node(project, via_uv=True)[0]} if shutil.which("uv")
                          else {}),
                       "signdistill_help_s": command_seconds(project, ["-m", "signdistill", "--help"]),
                       "profile_help_s": command_seconds(project, ["-m", "signdistill", "profile", "--help"])}
            for key, value in timings.items():
                samples[str(project)].setdefault(key, []).append(value)
    return {str(p): {**{k: round(statistics.median(v), 2) if None not in v else None
                        for k, v in samples[str(p)].items()},
                     **import_profile(p)} for p in projects}


@app.command(help=summary(__doc__))
def main(project: Annotated[list[Path] | None, typer.Option(metavar="PATH", help="A project checkout to measure "
                                                            "(repeat to compare; default: this one).")] = None,
         rounds: Annotated[int, typer.Option(min=1, metavar="N", help="Rounds of every measurement.")] = 3,
         as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False) -> None:
    projects = [p.resolve() for p in (project or [Path.cwd()])]
    print_payload(run(projects, rounds), as_json)


if __name__ == "__main__":
    app()
