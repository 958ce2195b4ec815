"""``signdistill lanes``: a seeds pipeline's seeds split into parallel ``kedro run`` processes, then judged."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
from mlflow import MlflowClient

from signdistill.lanes import balanced_lanes, plan_lanes
from signdistill.training.trainer import TrainConfig

REPO = Path(__file__).resolve().parents[2]


def test_lanes_get_about_equal_epochs() -> None:
    costs = {"a_seed0": 48, "a_seed1": 48, "b_seed0": 24, "b_seed1": 24, "c_seed0": 24, "c_seed1": 24}
    lanes = balanced_lanes(costs, 2)
    assert [sum(costs[n] for n in lane) for lane in lanes] == [96, 96]
    assert sorted(n for lane in lanes for n in lane) == sorted(costs)
    assert balanced_lanes({"a_seed0": 3}, 4) == [["a_seed0"]]  # no empty lane
    assert balanced_lanes({}, 2) == []


def test_a_plan_leaves_finished_seeds_out_and_costs_the_others_by_their_measured_epochs(tmp_path: Path,
                                                                                       monkeypatch) -> None:
    """A seed with a model is not planned; a run's cost is its epochs times the seconds per epoch its trained seeds
    measured, the median of the measured runs' for one not measured yet; the lanes start after the data stages."""
    from signdistill.pipeline_registry import register_pipelines

    (tmp_path / "conf" / "base").mkdir(parents=True)
    (tmp_path / "conf" / "base" / "parameters.yml").write_text("seeds: [0, 1]\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KEDRO_ENV", raising=False)
    params = {"smkd": {"recognizer": {"train": {"epochs": 24}}}, "smkd_best": {"recognizer": {"train": {"epochs": 48}}}}
    histories = {"smkd_seed0": {"epochs": [{"training_s": 9.0, "eval_s": 1.0}, {"training_s": 11.0, "eval_s": 1.0}]}}
    finished = {"smkd_seed0.model"}.__contains__
    plan = plan_lanes("seeds_smkd", register_pipelines()["seeds_smkd"], params, finished, 2, histories.get)
    assert plan.costs == {"smkd_seed1": 24 * 11.0, "smkd_best_seed0": 48 * 11.0, "smkd_best_seed1": 48 * 11.0,
                          **dict.fromkeys(["student_res_seed0", "student_res_seed1", "student_res_best_seed0",
                                           "student_res_best_seed1"], TrainConfig.epochs * 11.0)}  # the default
    loads = [sum(plan.costs[n] for n in lane) for lane in plan.lanes]
    assert plan.timed and len(loads) == 2 and abs(loads[0] - loads[1]) <= max(plan.costs.values())
    assert plan.shared == ["corpus_index", "frame_store", "vocabulary"]


def test_a_plan_costs_the_shared_teacher_as_it_trained(tmp_path: Path, monkeypatch) -> None:
    """The shared runs' cost is the sum of their measured epochs (what ``--fresh`` prints beside the lanes);
    unknown while the teacher has no history."""
    from signdistill.pipeline_registry import register_pipelines

    (tmp_path / "conf" / "base").mkdir(parents=True)
    (tmp_path / "conf" / "base" / "parameters.yml").write_text("seeds: [0]\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KEDRO_ENV", raising=False)
    teacher = {"epochs": [{"training_s": 60.0, "eval_s": 5.0, "checkpoint_s": 1.0}, {"training_s": 70.0}]}
    pipeline = register_pipelines()["seeds_crkd"]
    plan = plan_lanes("seeds_crkd", pipeline, {}, lambda _: False, 2, {"crkd_teacher": teacher}.get)
    assert "crkd_teacher.model" in plan.shared and plan.shared_s == 136.0
    assert len([n for lane in plan.lanes for n in lane]) == 3  # every seed, none trained
    assert plan_lanes("seeds_crkd", pipeline, {}, lambda _: False, 2, lambda _: None).shared_s is None


def _lanes(root: Path, *args: str) -> subprocess.CompletedProcess:
    command = [str(Path(sys.executable).with_name("signdistill")), "lanes", "seeds_smkd", "--env", "quick", *args]
    return subprocess.run(command, check=False, cwd=root, capture_output=True, text=True, timeout=900,
                          env={**os.environ, "KEDRO_DISABLE_TELEMETRY": "true"})


def test_lanes_train_the_seeds_side_by_side_then_judge(tmp_path: Path) -> None:
    """Quick mode, two seeds of ``smkd`` and ``student_res`` (the best-recipe runs left out): a lane that fails
    stops the command before the verdict; then two lanes, each its own ``kedro run`` and MLflow parent, and the
    verdict; a last call finds nothing left to train."""
    root = tmp_path / "project"
    root.mkdir()
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    shutil.copytree(REPO / "conf", root / "conf", ignore=shutil.ignore_patterns("local"))
    (root / "conf" / "local").mkdir()
    (root / "src").mkdir()  # the package itself is imported from the installed project
    (root / "conf/quick/parameters_seeds.yml").write_text(
        "seeds: [0, 1]\nseeds_left_out: [smkd_best, student_res_best]\n")
    reporting = root / "data/quick/08_reporting"
    broken = root / "conf/quick/parameters_broken.yml"  # a lane that fails stops the command before the verdict
    broken.write_text("smkd:\n  recognizer: {kind: no_such_network}\n")
    failed = _lanes(root, "--lanes", "2")
    assert failed.returncode != 0 and "no verdict" in failed.stderr and "logs/lanes/seeds_smkd_lane" in failed.stderr
    assert "seeds_smkd: 4 seeds to train in 2 lanes" in failed.stdout
    assert not (reporting / "smkd_seeds.csv").exists()
    broken.unlink()
    done = _lanes(root, "--lanes", "2")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    record = json.loads((reporting / "seeds_smkd_lanes.json").read_text())
    assert len(record["lanes"]) == 2 and record["threads_per_lane"] >= 1
    assert sorted(n for lane in record["lanes"] for n in lane) == [
        "smkd_seed0", "smkd_seed1", "student_res_seed0", "student_res_seed1"]
    assert record["total_s"] >= record["lanes_s"] > 0
    table = pd.read_csv(reporting / "smkd_seeds.csv")
    judged = table[table.row == "verdict (test WER)"]
    assert judged.comparison.tolist() == ["smkd vs student_res"] and judged.verdict.iloc[0] in ("beats",
                                                                                                "does not beat")
    assert (table.row == "left out").sum() == 2
    client = MlflowClient(f"sqlite:///{root}/mlflow.db")
    experiment = client.get_experiment_by_name("signdistill_quick")
    seeds = client.search_runs([experiment.experiment_id], "tags.seed != ''")
    assert sorted(r.info.run_name for r in seeds) == record_names(record)
    assert all(r.info.status == "FINISHED" for r in seeds)
    assert len({r.data.tags["mlflow.parentRunId"] for r in seeds}) == 2  # one kedro run per lane
    verdict_log = (root / "logs/lanes/seeds_smkd_verdict.log").read_text()
    assert "smkd_seeds_verdict" in verdict_log and "decode_splits" not in verdict_log  # seeds not evaluated again
    again = _lanes(root, "--dry-run")
    assert "0 seeds to train" in again.stdout


def record_names(record: dict) -> list[str]:
    return sorted(n for lane in record["lanes"] for n in lane)
