"""Where a kedro run's time went: the hook's record on a real catalog, its log lines and its timeline."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from kedro.io import DataCatalog
from kedro.pipeline import node
from kedro_datasets.json import JSONDataset
from kedro_datasets.matplotlib import MatplotlibDataset

from signdistill.hooks import RunTimesHook
from signdistill.reporting.run_times import outside_seconds, summary_lines, timeline_figure

RECORD = {"pipeline": "distill_signkd", "command": "kedro run", "started": "2026-01-01T00:00:00+00:00",
          "wall_s": 600.0, "status": "finished",
          "nodes": [{"node": "generate_synthsign", "start_s": 1.0, "seconds": 120.0, "run_start_s": 1.0, "run_s": 0.1,
                     "status": "finished"},
                    {"node": "signkd_teacher.train", "start_s": 125.0, "seconds": 420.0, "status": "finished"},
                    {"node": "signkd_report", "start_s": 560.0, "seconds": 0.5, "status": "finished"}]}


def _catalog(root: Path) -> DataCatalog:
    return DataCatalog({"p_run_times": JSONDataset(filepath=str(root / "p.json")),
                        "p_run_times_plot": MatplotlibDataset(filepath=str(root / "p.png"))})


def _noop(x):
    return x


def test_the_hook_records_each_node_and_saves_when_the_pipeline_fails(tmp_path: Path) -> None:
    hook, catalog = RunTimesHook(), _catalog(tmp_path)
    first, second = node(_noop, "a", "b", name="first"), node(_noop, "b", "c", name="second")
    hook.before_pipeline_run({"pipeline_names": ["p"]}, catalog)
    hook.before_dataset_loaded(first)
    time.sleep(0.05)  # an input that takes time to load (a store built as it is read) counts in the node's span
    hook.before_node_run(first)
    hook.after_node_run(first)
    hook.after_dataset_saved(first)
    hook.before_node_run(second)
    hook.on_node_error(second)
    hook.on_pipeline_error()
    record = json.loads((tmp_path / "p.json").read_text())
    assert record["status"] == "failed" and record["pipeline"] == "p"
    assert [(n["node"], n["status"]) for n in record["nodes"]] == [("first", "finished"), ("second", "failed")]
    loaded = record["nodes"][0]
    assert loaded["seconds"] >= 0.05 > loaded["run_s"] and loaded["run_start_s"] >= loaded["start_s"] + 0.05
    assert record["nodes"][1]["start_s"] >= loaded["start_s"] + loaded["seconds"]
    assert (tmp_path / "p.png").stat().st_size > 5_000
    hook.after_pipeline_run()  # nothing left to save: the failed run's record stays
    assert json.loads((tmp_path / "p.json").read_text())["status"] == "failed"


def test_summary_names_the_longest_nodes_and_the_time_outside_them() -> None:
    assert outside_seconds(RECORD) == pytest.approx(600.0 - 540.5)
    lines = summary_lines(RECORD, most=2)
    assert lines[0].startswith("distill_signkd: 10.0 min wall (finished), 3 nodes")
    assert lines[1].split()[:2] == ["signkd_teacher.train", "7.0"] and "70.0%" in lines[1]
    assert lines[2].endswith("(2.0 min in its datasets)")  # SynthSign is generated as its dataset is saved
    assert lines[3].split()[:3] == ["1", "other", "nodes"]
    assert lines[-1].split()[:2] == ["outside", "nodes"] and "9.9%" in lines[-1]


def test_timeline_draws_long_nodes_alone_and_short_ones_together() -> None:
    axes = timeline_figure(RECORD).axes[0]
    labels = [t.get_text() for t in axes.get_yticklabels()]
    assert labels == ["generate_synthsign", "signkd_teacher.train", "1 shorter nodes (0.0 min)"]
    assert "10.0 min wall" in axes.get_title()
    assert [t.get_text() for t in axes.texts] == ["2.0 min", "7.0 min", "0.5 s"]  # a row of one node says how long
