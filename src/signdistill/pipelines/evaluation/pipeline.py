"""Wiring of the ``evaluation`` pipeline: one namespaced instance per trained recogniser ("run")."""

from kedro.pipeline import Pipeline, node, pipeline

from signdistill.pipelines.evaluation.nodes import (
    decode_splits,
    efficiency_table,
    hypotheses_text,
    training_curves,
    wer_tables,
)

BASELINE_RUNS = ("teacher_res", "student_res")


def _evaluation() -> Pipeline:
    return Pipeline([
        node(decode_splits, ["model", "frame_store", "corpus_index", "params:evaluation"], "hypotheses",
             name="decode"),
        node(hypotheses_text, "hypotheses", "hypotheses_txt", name="write_hypotheses"),
        node(wer_tables, ["hypotheses", "corpus_index", "params:evaluation"], ["wer_table", "wer_metrics"],
             name="score"),
        node(training_curves, "history", "training_curves", name="plot_training_curves"),
        node(efficiency_table, ["model", "params:evaluation"], "efficiency_table", name="profile"),
    ])


def evaluate_runs(runs: tuple[str, ...] | list[str]) -> Pipeline:
    """Decode, score, plot and profile each run's ``<run>.model`` (trained by any training pipeline)."""
    shared = {"frame_store", "corpus_index"}
    return sum((pipeline(_evaluation(), namespace=run, inputs=shared, parameters={"evaluation"}) for run in runs),
               Pipeline([]))


def create_pipeline(**kwargs) -> Pipeline:
    return evaluate_runs(BASELINE_RUNS)
