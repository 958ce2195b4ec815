"""time_to_accuracy: candidates parse as NAME=RUN,overrides; unfinished records tabulate with their epochs."""

from __future__ import annotations

import pytest
import typer

from signdistill.benchmarks.time_to_accuracy import format_table, parse_candidate


def test_candidate_names_a_run_and_its_overrides() -> None:
    assert parse_candidate("w50=signkd_scratch,model.width=0.5,train.lr=2e-3") == (
        "w50", "signkd_scratch", ["model.width=0.5", "train.lr=2e-3"])
    assert parse_candidate("plain=signkd_teacher") == ("plain", "signkd_teacher", [])
    with pytest.raises(typer.BadParameter, match="NAME=RUN"):
        parse_candidate("signkd_scratch")


def test_table_shows_each_epoch_and_marks_unfinished_candidates() -> None:
    finished = {"name": "a", "epochs": [{"dev_wer": 80.0, "wall_s": 60.0}, {"dev_wer": 70.0, "wall_s": 120.0}],
                "best_dev_wer": 70.0, "test_wer": 72.5, "test_del": 40.0, "params_m": 0.45}
    unfinished = {"name": "b", "epochs": [{"dev_wer": 90.0, "wall_s": 200.0}]}
    lines = format_table([finished, unfinished]).splitlines()
    assert "80.0@  60s" in lines[1] and "70.0@ 120s" in lines[1] and "72.5" in lines[1]
    assert "90.0@ 200s" in lines[2] and lines[2].split()[-1] == "-"
