"""The preprocess nodes on a small PHOENIX-layout corpus, without Kedro's runner."""

from __future__ import annotations

from pathlib import Path

import pytest

from signdistill.data.corpora import read_corpus
from signdistill.data.store import FrameStore
from signdistill.errors import InputError
from signdistill.pipelines.preprocess.nodes import index_corpus, preprocess_report

from .conftest import make_phoenix2014


def test_the_report_names_each_sample_with_unknown_glosses(tmp_path: Path) -> None:
    """Dev and test glosses the training vocabulary lacks are kept (scored as errors) and the report says which
    samples hold them, with their videos, not only how often each gloss occurs."""
    corpus = read_corpus(make_phoenix2014(tmp_path / "corpus").root)
    index, vocabulary, excluded = index_corpus(corpus, {"resolutions": {"student": 8}, "temporal_downsample": 1})
    report = preprocess_report(corpus, index, vocabulary, excluded, FrameStore(tmp_path / "no_store"))
    assert report["unknown_glosses"] == {"dev": {"D": 1}, "test": {}}  # dv-2, with E twice, is too short
    source = next(str(s.source) for s in corpus.samples if s.id == "dv-1")
    assert report["unknown_gloss_samples"] == [{"id": "dv-1", "split": "dev", "path": source, "glosses": ["D"]}]


@pytest.mark.parametrize("params,says", [
    ({"resolutions": {"student": 8}, "temporal_downsample": 1, "temporal_contxt": 12},
     "parameters preprocess: unknown key(s) ['temporal_contxt']"),
    ({"resolutions": {"student": 8}}, "parameters preprocess: missing ['temporal_downsample']"),
    ({"resolutions": {"student": 8}, "temporal_downsample": "4x"},
     "parameters preprocess.temporal_downsample must be an integer, got '4x'"),
    ({"resolutions": {"student": "big"}, "temporal_downsample": 4},
     "parameters preprocess.resolutions must be a mapping of names to integers"),
])
def test_a_wrong_preprocess_parameter_is_named(tmp_path: Path, params: dict, says: str) -> None:
    corpus = read_corpus(make_phoenix2014(tmp_path / "corpus").root)
    with pytest.raises(InputError) as error:
        index_corpus(corpus, params)
    assert str(error.value).startswith(says)
