"""time_to_accuracy: candidates parse as NAME=RUN,overrides; unfinished records tabulate with their epochs."""

from __future__ import annotations

import pytest
import typer

from signdistill.benchmarks.time_to_accuracy import epochs_from_history, format_table, parse_candidate


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


def test_a_ddp_candidates_epochs_come_from_its_history() -> None:
    """A DDP run's epochs run in torchrun's ranks; its history gives them, each at the sum of the epochs' own
    seconds so far."""
    history = {"epochs": [{"epoch": 0, "training_s": 60.0, "eval_s": 5.0, "checkpoint_s": 0.5, "dev_wer": 80.0},
                          {"epoch": 1, "training_s": 62.0, "eval_s": 4.0, "checkpoint_s": 0.5, "dev_wer": 60.0,
                           "note": "text is left out"}]}
    epochs = epochs_from_history(history)
    assert [(e["epoch"], e["dev_wer"], e["wall_s"]) for e in epochs] == [(0, 80.0, 65.5), (1, 60.0, 132.0)]
    assert "note" not in epochs[1]
