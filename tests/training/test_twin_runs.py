"""A run and its seed twin (``smkd`` at its seed and ``smkd_seed0``) are one training: whichever trains second
adopts the other's checkpoint instead of training again."""

from __future__ import annotations

import logging
from pathlib import Path

import torch

from signdistill.training.run import train_run, twin_dir
from signdistill.training.spec import RunInputs, RunSpec

from .test_distributed import PARAMS, _corpus  # a tiny corpus and recogniser (seed 5)


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_a_seed_run_adopts_its_main_twin_and_the_other_way_round(tmp_path: Path, caplog) -> None:  # noqa: ANN001
    store, index, vocabulary = _corpus(tmp_path)
    inputs = RunInputs(store, index.to_dict("records"), vocabulary)
    root = tmp_path / "checkpoints"
    main = RunSpec.from_params(PARAMS, "run", root)
    assert twin_dir(main) == root / "run_seed5" and twin_dir(main.with_seed(5)) == root / "run"
    trained = train_run(main, inputs).result

    with caplog.at_level(logging.INFO, logger="signdistill.training.run"):
        adopted = train_run(main.with_seed(5), inputs).result
    assert "run_seed5: adopted" in caplog.text and (root / "run_seed5" / "last.pt").exists()
    assert _same(adopted.best_state, trained.best_state)
    assert [e["train_loss"] for e in adopted.history] == [e["train_loss"] for e in trained.history]

    other = train_run(main.with_seed(6), inputs).result  # another seed is another run: trained, not adopted
    assert not _same(other.best_state, trained.best_state)

    (root / "run" / "last.pt").unlink()  # the main run lost, its seed twin kept: the main run adopts it back
    assert _same(train_run(main, inputs).result.best_state, trained.best_state)


def test_a_twin_of_other_parameters_or_damaged_is_not_adopted(tmp_path: Path, caplog) -> None:  # noqa: ANN001
    store, index, vocabulary = _corpus(tmp_path)
    inputs = RunInputs(store, index.to_dict("records"), vocabulary)
    root = tmp_path / "checkpoints"
    train_run(RunSpec.from_params({**PARAMS, "crop": 16}, "run", root), inputs)  # another data view
    seed = RunSpec.from_params(PARAMS, "run", root).with_seed(5)
    with caplog.at_level(logging.INFO, logger="signdistill.training.run"):
        train_run(seed, inputs)
    assert "adopted" not in caplog.text

    (root / "run_seed5" / "last.pt").unlink()
    whole = (root / "run" / "last.pt").read_bytes()
    (root / "run" / "last.pt").write_bytes(whole[: len(whole) // 2])  # cut short
    with caplog.at_level(logging.INFO, logger="signdistill.training.run"):
        train_run(seed, inputs)  # trains afresh, saying why it did not adopt the damaged twin
    assert "not adopting" in caplog.text and "truncated or corrupt" in caplog.text
