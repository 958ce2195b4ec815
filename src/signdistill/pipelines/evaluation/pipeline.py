"""Wiring of the ``evaluation`` pipeline, one namespaced instance per trained baseline."""

from kedro.pipeline import Pipeline, node, pipeline

from signdistill.pipelines.evaluation.nodes import (
    decode_splits,
    efficiency_table,
    hypotheses_text,
    training_curves,
    wer_tables,
)


def _evaluation() -> Pipeline:
    return Pipeline([
        node(decode_splits, ["baseline_model", "frame_store", "corpus_index", "params:evaluation"], "hypotheses",
             name="decode"),
        node(hypotheses_text, "hypotheses", "hypotheses_txt", name="write_hypotheses"),
        node(wer_tables, ["hypotheses", "corpus_index", "params:evaluation"], ["wer_table", "wer_metrics"],
             name="score"),
        node(training_curves, "baseline_history", "training_curves", name="plot_training_curves"),
        node(efficiency_table, ["baseline_model", "params:evaluation"], "efficiency_table", name="profile"),
    ])


def create_pipeline(**kwargs) -> Pipeline:
    shared = {"frame_store", "corpus_index"}
    return sum((pipeline(_evaluation(), namespace=resolution, inputs=shared, parameters={"evaluation"})
                for resolution in ("teacher_res", "student_res")), Pipeline([]))
