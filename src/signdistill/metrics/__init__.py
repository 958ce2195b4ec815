"""Evaluation metrics: word error rate with the PHOENIX cleanup rules, and model efficiency (no Kedro)."""

from signdistill.metrics.wer import (
    WerCounts,
    align,
    clean_phoenix2014,
    clean_phoenix2014_ctm,
    clean_phoenix2014t,
    read_corpus_csv,
    read_transcripts,
    score_corpus,
)

__all__ = [
    "WerCounts",
    "align",
    "clean_phoenix2014",
    "clean_phoenix2014_ctm",
    "clean_phoenix2014t",
    "read_corpus_csv",
    "read_transcripts",
    "score_corpus",
]
