"""Blank is id 0, glosses are sorted from id 1, unknown glosses are named, and JSON round-trips."""

from __future__ import annotations

import json

import numpy as np
import pytest

from signdistill.data.vocabulary import BLANK, Vocabulary


@pytest.fixture
def vocab() -> Vocabulary:
    return Vocabulary.from_sequences([["WETTER", "MORGEN"], ("REGEN", "WETTER"), []])


def test_ids_are_sorted_from_one_with_blank_zero(vocab: Vocabulary) -> None:
    assert vocab.glosses == ("MORGEN", "REGEN", "WETTER")
    assert len(vocab) == 4 and vocab.blank_id == 0
    assert vocab.encode(["MORGEN", "REGEN", "WETTER"]) == [1, 2, 3]
    assert "REGEN" in vocab and BLANK not in vocab


def test_decode_skips_blank_and_accepts_numpy_ints(vocab: Vocabulary) -> None:
    assert vocab.decode([0, 3, 0, 1, 1]) == ["WETTER", "MORGEN", "MORGEN"]
    assert vocab.decode(np.array([2, 0], dtype=np.int64)) == ["REGEN"]
    with pytest.raises(IndexError, match="id 4"):
        vocab.decode([4])


def test_encode_names_the_unknown_gloss(vocab: Vocabulary) -> None:
    with pytest.raises(KeyError, match="SONNE"):
        vocab.encode(["WETTER", "SONNE"])
    assert vocab.unknown(["SONNE", "WETTER", "WIND", "SONNE"]) == ["SONNE", "WIND"]


def test_json_round_trip(vocab: Vocabulary) -> None:
    data = json.loads(json.dumps(vocab.to_dict()))
    assert data == {"blank": BLANK, "blank_id": 0, "glosses": ["MORGEN", "REGEN", "WETTER"]}
    assert Vocabulary.from_dict(data) == vocab
    with pytest.raises(ValueError, match="blank"):
        Vocabulary.from_dict({"blank": "-", "glosses": ["A"]})


def test_invalid_vocabularies_are_refused() -> None:
    with pytest.raises(ValueError, match="reserved"):
        Vocabulary.from_sequences([["A", BLANK]])
    with pytest.raises(ValueError, match="sorted"):
        Vocabulary(("B", "A"))
    assert len(Vocabulary.from_sequences([])) == 1
