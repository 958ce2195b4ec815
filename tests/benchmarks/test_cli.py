"""Every benchmark is reachable as ``signdistill bench <name>`` with the options of ``python -m
signdistill.benchmarks.<name>`` (one typer app per module), and one runs for real through the CLI."""

from __future__ import annotations

import json
import os
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer
import yaml
from typer.testing import CliRunner

import signdistill.benchmarks
from signdistill.benchmarks._cli import expand_multi_values
from signdistill.console import BENCHMARKS, app

MODULES = sorted(m.name for m in pkgutil.iter_modules(signdistill.benchmarks.__path__) if not m.name.startswith("_"))


def test_bench_help_lists_every_benchmark_module() -> None:
    """A new module in signdistill.benchmarks without its entry in console.BENCHMARKS fails here."""
    result = CliRunner().invoke(app, ["bench", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    listed = set(re.findall(r"^  (\S+)", result.output.split("Commands:")[1], re.MULTILINE))  # not wrapped lines
    assert listed == {name.replace("_", "-") for name in MODULES}
    assert sorted(BENCHMARKS) == MODULES


def test_each_benchmark_is_one_typer_app_under_either_spelling() -> None:
    runner = CliRunner()
    for name in ("step-times", "step_times", "data-speed"):
        result = runner.invoke(app, ["bench", name, "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0, result.output
    assert "--train-videos" in runner.invoke(app, ["bench", "step-times", "--help"]).output
    data_speed = runner.invoke(app, ["bench", "data-speed", "--help"]).output
    assert {"synth", "preprocess", "loader"} <= set(data_speed.split())
    result = runner.invoke(app, ["bench", "no-such-benchmark"])
    assert result.exit_code != 0 and "No such command" in result.output


def test_several_values_after_one_flag_as_argparse_took_them() -> None:
    assert expand_multi_values(["--seeds", "0", "1", "--set", "a=1", "b=-2", "--epochs", "3", "--runs=x"],
                               {"--seeds", "--set", "--runs"}) == [
        "--seeds", "0", "--seeds", "1", "--set", "a=1", "--set", "b=-2", "--epochs", "3", "--runs", "x"]
    assert expand_multi_values(["--set", "--seeds", "-1", "2"], {"--seeds", "--set"}) == [
        "--seeds", "-1", "--seeds", "2"]
    from signdistill.benchmarks.method_seeds import app as method_seeds

    command = typer.main.get_command(method_seeds)
    ctx = command.make_context("method_seeds", ["--runs", "crkd_scratch", "crkd_distilled", "--seeds", "0", "1", "2",
                                                "--set", "train.lr=3e-3", "train.batch_size=2", "--jobs", "2"])
    assert ctx.params["runs"] == ["crkd_scratch", "crkd_distilled"] and ctx.params["seeds"] == [0, 1, 2]
    assert ctx.params["overrides"] == ["train.lr=3e-3", "train.batch_size=2"] and ctx.params["jobs"] == 2


def test_heatmaps_runs_through_signdistill_bench() -> None:
    result = CliRunner().invoke(app, ["bench", "heatmaps", "--frames", "4", "--size", "16", "--json"])
    assert result.exit_code == 0, result.output
    measured = json.loads(result.output)
    assert (measured["frames"], measured["size"], measured["points"]) == (4, 16, 79)
    assert measured["separable_cpu_frames_per_s"] > 0 and measured["dense_loop_cpu_frames_per_s"] > 0


GPU_BENCHMARKS = ("flow", "step_times", "signkd_latency", "distill_cost", "method_seeds", "time_to_accuracy")


def test_gpu_benchmarks_run_without_kedro_given_parameter_files(tmp_path: Path) -> None:
    """On a machine with torch and the core only: the modules import, and step_times runs a real step from a
    parameters file read alone (Kedro made unimportable in the child process)."""
    conf = Path(__file__).resolve().parents[2] / "conf/base"
    script = f"""
import sys
sys.modules["kedro"] = None  # any `import kedro...` now fails
import importlib
for name in {GPU_BENCHMARKS!r}:
    importlib.import_module("signdistill.benchmarks." + name)
from signdistill.benchmarks.step_times import app
app(["--params", "{conf}/parameters_baseline.yml", "--runs", "student_res", "--train-videos", "10", "--frames",
     "40", "--repeats", "1", "--compare", "--gemm", "256", "--device", "cpu", "--data", "{tmp_path}",
     "--out", "{tmp_path}/steps.json"])
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600, check=False,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr[-2000:]
    measured = json.loads((tmp_path / "steps.json").read_text())
    rows = measured["runs"]
    assert [row["run"] for row in rows] == ["student_res"] and rows[0]["step_s"] > 0
    per_clip = (rows[0]["reference_step_s"] / rows[0]["reference_batch"]) / (rows[0]["step_s"] / rows[0]["new_batch"])
    assert rows[0]["reference_step_s"] > 0 and rows[0]["speedup"] == per_clip
    assert rows[0]["gflop"] > 0 and 0 < rows[0]["peak_fraction"] and min(measured["attainable_gflops"].values()) > 0


def test_parameter_files_read_alone_refuse_what_only_kedro_resolves() -> None:
    from signdistill.benchmarks._conf import parameters

    conf = Path(__file__).resolve().parents[2] / "conf"
    assert parameters(files=[conf / "base/parameters_crkd.yml"])["crkd_scratch"]["recognizer"]["resize"] == 40
    with pytest.raises(SystemExit, match=r"crkd_teacher.recognizer.rules = \$\{globals:rules\}.*--env"):
        parameters(files=[conf / "paper/parameters_crkd.yml"])


def test_signdistill_params_writes_what_benchmarks_read_without_kedro(tmp_path: Path) -> None:
    """`signdistill params --env ENV > FILE` on a machine with Kedro, `--params FILE` on one without: the same
    parameters; `--run` prints the run as it trains (its defaults filled in)."""
    from signdistill.benchmarks._conf import parameters
    from signdistill.config import load_parameters

    conf = Path(__file__).resolve().parents[2] / "conf"
    result = CliRunner().invoke(app, ["params", "--env", "phoenix2014", "--conf", str(conf)])
    assert result.exit_code == 0, result.output
    (tmp_path / "params.yml").write_text(result.output)
    assert parameters(files=[tmp_path / "params.yml"]) == load_parameters("phoenix2014", conf)
    one = CliRunner().invoke(app, ["params", "--env", "phoenix2014", "--conf", str(conf), "--run", "crkd_scratch"])
    recognizer = yaml.safe_load(one.output)["crkd_scratch"]["recognizer"]
    assert recognizer["rules"] == "phoenix2014" and recognizer["train"]["optimizer"] == "adam"
    assert recognizer["checkpoint_dir"] == "data/06_models/checkpoints/crkd_scratch"
    missing = CliRunner().invoke(app, ["params", "--conf", str(conf), "--run", "nothing"])
    assert missing.exit_code == 2 and "no run 'nothing'" in missing.output
