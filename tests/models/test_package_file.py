"""Model packages and checkpoints are opened without running code: safetensors + JSON, or ``torch.load`` with
``weights_only=True``; a pickle that would run code on load is refused and its code does not run."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from signdistill.console import app
from signdistill.errors import MissingInputError
from signdistill.models.package_file import ModelFileError, convert_pickled_package
from signdistill.models.registry import build_recognizer, load_recognizer, package_model, read_package, write_package
from signdistill.training.checkpoint import CheckpointError, load_checkpoint, save_atomic

pytestmark = pytest.mark.usefixtures("one_thread")
SMALL = {"width": 4, "hidden": 16, "lstm_hidden": 8, "lstm_layers": 1}


class _Payload:
    """Unpickling this calls ``os.system``, which creates ``marker``: what a malicious model file would do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def _package() -> dict:
    torch.manual_seed(0)
    model = build_recognizer("baseline", 4, SMALL)
    return package_model("baseline", model, model.state_dict(), {"glosses": ["A", "B", "C"]},
                         {"store_size": 40, "crop": 36})


def test_a_package_round_trips_through_safetensors_and_json(tmp_path: Path) -> None:
    package = _package()
    path = tmp_path / "run.safetensors"
    write_package(package, path)
    loaded = read_package(path)
    assert {k: v for k, v in loaded.items() if k != "state_dict"} == {
        k: v for k, v in package.items() if k != "state_dict"}
    assert loaded["state_dict"].keys() == package["state_dict"].keys()
    assert all(torch.equal(loaded["state_dict"][k], v) for k, v in package["state_dict"].items())
    clip = {"video": torch.randint(0, 255, (1, 16, 36, 36, 3), dtype=torch.uint8), "lengths": torch.tensor([16])}
    original = load_recognizer(package)
    assert torch.equal(load_recognizer(loaded)(clip)["log_probs"], original(clip)["log_probs"])


def test_every_header_length_reads_back(tmp_path: Path) -> None:
    """The file's first byte is its header's length mod 256: 0x80 (a pickle's first byte) among them."""
    path = tmp_path / "pad.safetensors"
    for pad in range(256):
        write_package({"kind": "baseline", "config": {}, "state_dict": {"w": torch.ones(1)}, "vocabulary": {},
                       "data": {"pad": "x" * pad}}, path)
        assert read_package(path)["data"]["pad"] == "x" * pad


def test_tied_weights_are_written_once_each(tmp_path: Path) -> None:
    shared = torch.arange(6.0)
    package = {**_package(), "state_dict": {"a": shared, "b": shared, "view": shared[2:4]}}
    write_package(package, tmp_path / "tied.safetensors")
    state = read_package(tmp_path / "tied.safetensors")["state_dict"]
    assert torch.equal(state["a"], state["b"]) and torch.equal(state["view"], torch.tensor([2.0, 3.0]))


@pytest.mark.parametrize("writer", ["pickle", "torch.save"])
def test_a_crafted_model_file_is_refused_and_its_code_never_runs(tmp_path: Path, writer: str) -> None:
    marker = tmp_path / "code_ran"
    crafted = {**_package(), "config": _Payload(marker)}
    path = tmp_path / "shared_model.safetensors"  # named like a package: the name decides nothing
    if writer == "pickle":
        path.write_bytes(pickle.dumps(crafted))
    else:
        torch.save(crafted, path)
    with pytest.raises(ModelFileError) as refused:
        read_package(path)
    message = str(refused.value)
    assert str(path) in message and "\n" not in message
    assert ("signdistill convert-model" if writer == "pickle" else "could run code") in message
    assert not marker.exists()
    result = CliRunner().invoke(app, ["recognize", str(tmp_path), "--model", str(path)])
    assert result.exit_code == 2 and str(path) in result.output and not marker.exists()


def test_a_crafted_checkpoint_is_refused_and_its_code_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "code_ran"
    path = tmp_path / "last.pt"
    torch.save({"epoch": 0, "model": {"w": torch.ones(2)}, "history": [_Payload(marker)]}, path)
    with pytest.raises(CheckpointError) as refused:
        load_checkpoint(path)
    assert str(path) in str(refused.value) and "posix.system" in str(refused.value)
    assert not marker.exists()
    save_atomic({"epoch": 1, "best": {"state": None, "wer": 1.5}, "model": {"w": torch.ones(2)}}, path)
    assert load_checkpoint(path)["best"]["wer"] == 1.5


def test_other_files_are_refused_with_one_line_naming_them(tmp_path: Path) -> None:
    text = tmp_path / "notes.safetensors"
    text.write_text("not a model")
    bare = tmp_path / "bare.safetensors"
    from safetensors.torch import save_file

    save_file({"w": torch.ones(1)}, str(bare))
    for path, problem in ((text, "is not a model package"), (bare, "without a SignDistill model spec"),
                          (tmp_path, "is a directory")):
        with pytest.raises(ModelFileError, match=problem) as refused:
            read_package(path)
        assert str(path) in str(refused.value) and "\n" not in str(refused.value)


def test_a_damaged_package_or_checkpoint_is_named_as_such(tmp_path: Path) -> None:
    """A cut checkpoint is called truncated (not code that could run), a package whose spec lacks what rebuilds the
    network or that is missing says so: each one line naming the file, an ``InputError`` ``kedro run`` prints."""
    checkpoint = tmp_path / "last.pt"
    save_atomic({"epoch": 1, "model": {"w": torch.ones(256)}}, checkpoint)
    checkpoint.write_bytes(checkpoint.read_bytes()[: checkpoint.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="is truncated or corrupt; delete it to start afresh") as cut:
        load_checkpoint(checkpoint)
    assert str(checkpoint) in str(cut.value) and "could run code" not in str(cut.value)
    from safetensors.torch import save_file

    no_kind = tmp_path / "no_kind.safetensors"
    save_file({"w": torch.ones(1)}, str(no_kind), metadata={"signdistill.package": '{"format": 1, "config": {}}'})
    with pytest.raises(ModelFileError, match=f"{no_kind} has a model spec without kind"):
        read_package(no_kind)
    with pytest.raises(MissingInputError, match=f"no model package at {tmp_path / 'gone.safetensors'}"):
        read_package(tmp_path / "gone.safetensors")


def test_convert_model_rewrites_a_trusted_pickle(tmp_path: Path) -> None:
    old = tmp_path / "smkd.pkl"
    old.write_bytes(pickle.dumps(_package()))
    result = CliRunner().invoke(app, ["convert-model", str(old)])
    assert result.exit_code == 0, result.output
    converted = read_package(tmp_path / "smkd.safetensors")
    assert converted["kind"] == "baseline" and converted["vocabulary"]["glosses"] == ["A", "B", "C"]
    assert convert_pickled_package(old, tmp_path / "again.safetensors")["kind"] == "baseline"
