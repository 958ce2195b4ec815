"""`signdistill corpus` and `signdistill synth` on every supported layout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from signdistill.console import app

from .conftest import make_csl_daily, make_phoenix2014, make_phoenix2014t, make_video_csv

runner = CliRunner()


@pytest.mark.parametrize("maker,layout", [
    (make_phoenix2014, "phoenix2014"),
    (make_phoenix2014t, "phoenix2014t"),
    (make_csl_daily, "csl_daily"),
    (make_video_csv, "video_csv"),
])
def test_corpus_summary_for_each_layout(tmp_path: Path, maker, layout: str) -> None:
    fake = maker(tmp_path / layout)
    result = runner.invoke(app, ["corpus", str(fake.root)])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["layout"] == layout
    assert summary["total_samples"] == sum(summary["samples"].values()) > 0
    assert summary["problem_count"] == len(summary["problems"]) > 0  # the fixtures carry bad rows
    assert all({"id", "split", "path", "reason"} <= set(p) for p in summary["problems"])
    assert summary["vocabulary_size"] > 0


def test_corpus_reports_a_missing_root(tmp_path: Path) -> None:
    result = runner.invoke(app, ["corpus", str(tmp_path / "nowhere")])
    assert result.exit_code == 2
    assert "nowhere" in result.output


def test_synth_then_corpus(tmp_path: Path) -> None:
    out = tmp_path / "ss"
    result = runner.invoke(app, ["synth", "--out", str(out), "--preset", "tiny", "--seed", "5", "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.strip().splitlines()[-1])["videos"] == {"train": 8, "dev": 3, "test": 3}
    summary = json.loads(runner.invoke(app, ["corpus", str(out)]).stdout)
    assert summary["layout"] == "phoenix2014" and summary["problem_count"] == 0
    assert summary["samples"] == {"train": 8, "dev": 3, "test": 3}
