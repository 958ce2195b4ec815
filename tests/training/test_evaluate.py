"""Scoring decoded splits against the corpus index (shared by the evaluation pipeline and the benchmarks)."""

from __future__ import annotations

import pytest

from signdistill.training.evaluate import score_splits

INDEX = [
    {"id": "a", "split": "dev", "signer": "s1", "annotation": "X Y Z"},
    {"id": "b", "split": "dev", "signer": "s2", "annotation": "X X"},
    {"id": "c", "split": "test", "signer": "s1", "annotation": "Y"},
    {"id": "d", "split": "train", "signer": "s1", "annotation": "Z"},
]


def test_score_splits_per_split_and_signer() -> None:
    scores = score_splits({"dev": {"a": "X Z", "b": "X X Y"}, "test": {}}, INDEX)
    assert set(scores) == {"dev", "test"}
    assert scores["dev"]["wer"] == pytest.approx(100 * 2 / 5)  # one deletion, one insertion over 5 glosses
    assert scores["dev"]["del"] == pytest.approx(20.0) and scores["dev"]["ins"] == pytest.approx(20.0)
    assert scores["dev"]["per_signer"]["s1"]["wer"] == pytest.approx(100 / 3)
    assert scores["test"]["wer"] == pytest.approx(100.0)  # a missing hypothesis is all deletions
    assert scores["test"]["del"] == pytest.approx(100.0)
