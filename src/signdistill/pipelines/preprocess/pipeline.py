"""Wiring of the ``preprocess`` pipeline."""

from kedro.pipeline import Pipeline, node

from signdistill.pipelines.preprocess.nodes import (
    index_corpus,
    plan_frame_store,
    preprocess_report,
)
from signdistill.reporting.previews import signer_preview


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline([
        node(index_corpus, ["corpus", "params:preprocess"], ["corpus_index", "vocabulary", "index_problems"],
             name="index_corpus"),
        node(plan_frame_store, ["corpus_index", "corpus", "params:preprocess"], "frame_store",
             name="pack_frames"),
        node(preprocess_report, ["corpus", "corpus_index", "vocabulary", "index_problems", "frame_store"],
             "preprocess_report", name="preprocess_report"),
        node(signer_preview, "corpus", "corpus_signers_preview", name="signer_preview"),
    ])
