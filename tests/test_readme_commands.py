"""The README's quick-mode command, as a user types it, in a scratch copy of the project: it must run from a
fresh clone and leave every table, figure and MLflow run that the README promises."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]


def readme_block(heading: str) -> list[str]:
    """The command lines of the first ```bash block under the README section whose title starts with ``heading``."""
    text = (REPO / "README.md").read_text()
    section = re.search(rf"^## {re.escape(heading)}.*?(?=^## )", text, re.S | re.M)
    assert section, f"README has no section {heading!r}"
    block = re.search(r"```bash\n(.*?)```", section.group(0), re.S)
    assert block, f"README section {heading!r} shows no command"
    return [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.split("#")[0].strip()]


def test_the_quick_mode_section_shows_one_kedro_command() -> None:
    (command,) = readme_block("Quick mode")
    assert command.startswith("uv run kedro run ") and "--env quick" in command


def test_the_readme_quick_mode_command_runs_end_to_end(tmp_path: Path) -> None:
    (command,) = readme_block("Quick mode")
    argv = shlex.split(command)[2:]  # `uv run` is the installed environment this test already runs in
    root = tmp_path / "project"
    root.mkdir()
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    shutil.copytree(REPO / "conf", root / "conf", ignore=shutil.ignore_patterns("local"))
    (root / "conf" / "local").mkdir()
    (root / "src").mkdir()  # the package is imported from the installed project
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "true", "MPLBACKEND": "Agg"}
    result = subprocess.run([sys.executable, "-m", *argv], cwd=root, env=env, capture_output=True, text=True,
                            check=False, timeout=1800)
    assert result.returncode == 0, result.stderr[-3000:]
    printed = result.stdout + result.stderr
    assert "Warning" not in printed and "telemetry" not in printed.lower()  # no third-party chatter
    reports = root / "data/quick/08_reporting"
    for table in ("smkd_table1", "smkd_table3", "smkd_table4"):  # the paper's tables, its numbers beside
        report = pd.read_csv(reports / f"{table}_report.csv")
        assert len(report) == 4 and report.test_wer.between(0, 400).all() and report.paper_wer.notna().all()
        assert (reports / f"{table}_report.png").stat().st_size > 0
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{root}/mlflow.db")
    experiment = client.get_experiment_by_name("signdistill_quick")
    runs = client.search_runs([experiment.experiment_id])
    parents = [run for run in runs if "mlflow.parentRunId" not in run.data.tags]
    children = [run for run in runs if run.data.tags.get("mlflow.parentRunId") == parents[0].info.run_id]
    assert len(parents) == 1 and len(children) >= 9
    assert all(any(name.startswith("final_dev_wer_") for name in run.data.metrics) and "test_wer" in run.data.metrics
               for run in children)


def test_the_readme_is_short_and_in_a_newcomers_order() -> None:
    text = (REPO / "README.md").read_text()
    assert len(text.splitlines()) <= 150
    sections = re.findall(r"^## (.+)$", text, re.M)
    order = ["Set-up", "Quick mode", "The main job", "Results at a glance", "Using PHOENIX-2014",
             "Kedro-Viz and MLflow", "The `signdistill` command", "Tests"]
    positions = [next(i for i, section in enumerate(sections) if section.startswith(o)) for o in order]
    assert positions == sorted(positions) and positions[-1] == len(sections) - 1
