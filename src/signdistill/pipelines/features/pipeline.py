"""Wiring of the ``features`` pipeline."""

from kedro.pipeline import Pipeline, node

from signdistill.pipelines.features.nodes import features_report, plan_features
from signdistill.reporting.previews import flow_preview, heatmap_preview


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline([
        node(plan_features, ["corpus_index", "corpus", "frame_store", "params:features"], "feature_store",
             name="extract_features"),
        node(features_report, "feature_store", "features_report", name="features_report"),
        node(flow_preview, ["feature_store", "frame_store", "corpus_index", "params:features"], "flow_preview",
             name="flow_preview"),
        node(heatmap_preview, ["feature_store", "frame_store", "corpus_index", "params:features"],
             "heatmap_preview", name="heatmap_preview"),
    ])
