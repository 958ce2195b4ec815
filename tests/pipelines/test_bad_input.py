"""``kedro run`` answers known bad input with one line naming the file and the problem (``signdistill.cli``)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from kedro.framework.startup import bootstrap_project

from signdistill.cli import cli
from signdistill.errors import InputError

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path: Path, monkeypatch) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    shutil.copytree(REPO / "conf", root / "conf", ignore=shutil.ignore_patterns("local"))
    (root / "conf" / "local").mkdir()
    (root / "src").mkdir()
    monkeypatch.chdir(root)
    monkeypatch.setenv("KEDRO_DISABLE_TELEMETRY", "true")
    bootstrap_project(root)
    yield root
    import mlflow

    while mlflow.active_run() is not None:
        mlflow.end_run()
    os.environ.pop("MLFLOW_RUN_ID", None)


def _corpus_at(project: Path, path: Path) -> None:
    (project / "conf/local/catalog.yml").write_text(
        f"corpus:\n  type: signdistill.datasets.CorpusDataset\n  path: {path}\n  layout: auto\n  generate: false\n")


def _corpus_without_videos(project: Path, tmp_path: Path) -> Path:
    """A PHOENIX-2014 layout whose split files list one video each and whose frame folders hold none."""
    root = tmp_path / "phoenix"
    manual = root / "annotations/manual"
    manual.mkdir(parents=True)
    (root / "features/fullFrame-210x260px").mkdir(parents=True)
    for split in ("train", "dev", "test"):
        (manual / f"{split}.corpus.csv").write_text(f"id|folder|signer|annotation\n{split}1|{split}1/1/*.png|S1|A B\n")
    _corpus_at(project, root)
    return root


def _run(*args: str):
    return CliRunner().invoke(cli, ["run", "--pipelines", "preprocess", *args])


def _one_clear_line(result, *fragments: str) -> None:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and all(fragment in errors[0] for fragment in fragments), result.output
    assert "Traceback" in Path("logs/kedro_run_error.log").read_text()


def test_missing_corpus_path(project: Path, tmp_path: Path) -> None:
    _corpus_at(project, tmp_path / "nowhere")
    _one_clear_line(_run(), f"corpus root {tmp_path / 'nowhere'} does not exist", "catalog.yml")


def test_empty_corpus_folder_and_verbose(project: Path, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    _corpus_at(project, tmp_path / "empty")
    _one_clear_line(_run(), f"no known corpus layout under {tmp_path / 'empty'}")
    verbose = _run("--verbose")
    assert verbose.exit_code == 1 and "no known corpus layout" in str(verbose.exception)
    cause = verbose.exception  # with --verbose the error itself is raised (Kedro wraps it), not an exit status
    while cause is not None and not isinstance(cause, InputError):
        cause = cause.__cause__ or cause.__context__
    assert cause is not None and "no known corpus layout" in str(cause)


def test_every_sample_rejected(project: Path, tmp_path: Path) -> None:
    root = _corpus_without_videos(project, tmp_path)
    _one_clear_line(_run(), f"no usable training video in the corpus at {root}", "frame folder does not exist")


def test_unknown_pipeline(project: Path) -> None:
    result = CliRunner().invoke(cli, ["run", "--pipelines", "ablations_smkdd"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "unknown pipeline 'ablations_smkdd' (did you mean ablations_smkd" in result.output


def test_a_mistyped_parameter_stops_the_run_with_one_line(project: Path, tmp_path: Path) -> None:
    """A typo in a parameters section reaches the user as the section and key, before any work: here the
    preprocess step of a corpus that exists."""
    _corpus_without_videos(project, tmp_path)
    result = _run("--params", "preprocess.temporal_downsampel=4")
    _one_clear_line(result, "parameters preprocess: unknown key(s) ['temporal_downsampel']")
