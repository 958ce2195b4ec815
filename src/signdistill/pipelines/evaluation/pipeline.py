"""Wiring of the ``evaluation`` pipeline: one namespaced instance per trained recogniser ("run")."""

from functools import partial, update_wrapper

from kedro.pipeline import Pipeline, node, pipeline

from signdistill.pipelines.baseline.nodes import train_recognizer
from signdistill.pipelines.evaluation.nodes import (
    ablation_table,
    compare_with_baseline,
    decode_splits,
    decode_splits_with_features,
    efficiency_table,
    hypotheses_text,
    training_curves,
    wer_tables,
)

BASELINE_RUNS = ("teacher_res", "student_res")


def _evaluation(run: str, features: bool = False) -> Pipeline:
    decode = (node(decode_splits_with_features, ["model", "frame_store", "feature_store", "corpus_index",
                                                 "params:evaluation"], "hypotheses", name="decode") if features
              else node(decode_splits, ["model", "frame_store", "corpus_index", "params:evaluation"], "hypotheses",
                        name="decode"))
    return Pipeline([
        decode,
        node(hypotheses_text, "hypotheses", "hypotheses_txt", name="write_hypotheses"),
        node(wer_tables, ["hypotheses", "corpus_index", "params:evaluation"], ["wer_table", "wer_metrics"],
             name="score"),
        node(update_wrapper(partial(training_curves, run=run), training_curves), "history", "training_curves",
             name="plot_training_curves"),
        node(efficiency_table, ["model", "params:evaluation"], "efficiency_table", name="profile"),
    ])


def evaluate_runs(runs: tuple[str, ...] | list[str], features: bool = False) -> Pipeline:
    """Decode, score, plot and profile each run's ``<run>.model`` (trained by any training pipeline);
    ``features``: the models read the feature store's streams too (SignKD teachers)."""
    shared = {"frame_store", "corpus_index"} | ({"feature_store"} if features else set())
    return sum((pipeline(_evaluation(run, features), namespace=run, inputs=shared, parameters={"evaluation"})
                for run in runs), Pipeline([]))


def create_pipeline(**kwargs) -> Pipeline:
    return evaluate_runs(BASELINE_RUNS)


TRAINING_INPUTS = {"frame_store", "corpus_index", "vocabulary"}


def train_run(run: str) -> Pipeline:
    """``<run>.model`` and ``<run>.history`` from the ``<run>.recognizer`` parameters (no teacher)."""
    training = Pipeline([node(train_recognizer, ["frame_store", "corpus_index", "vocabulary", "params:recognizer"],
                              ["model", "history"], name="train")])
    return pipeline(training, namespace=run, inputs=TRAINING_INPUTS)


def method_against_baseline(run: str, paper: dict[str, dict], baseline: str = "teacher_res") -> Pipeline:
    """The baseline run and ``run`` trained and evaluated, then ``<run>_report`` comparing the two
    (``paper``: the paper's ``"baseline"`` and ``run`` rows, for orientation).

    The baseline's training node is the ``baseline`` pipeline's own, so a baseline already trained (same
    parameters) resumes from its finished checkpoint instead of training again.
    """
    from signdistill.pipelines import baseline as baseline_pipeline

    paper = {baseline: paper.get("baseline", {}), run: paper.get(run, {})}  # the paper's rows under our run names
    report = update_wrapper(partial(compare_with_baseline, paper=paper, labels=(baseline, run)), compare_with_baseline)
    return (baseline_pipeline.create_pipeline().only_nodes_with_namespaces([baseline]) + train_run(run)
            + evaluate_runs([baseline, run])
            + Pipeline([node(report, [f"{name}.{table}" for name in (baseline, run)
                                      for table in ("wer_table", "efficiency_table")],
                             [f"{run}_report", f"{run}_report_plot", f"{run}_report_metrics"], name=f"{run}_report")]))


def ablation_tables(tables: dict[str, dict[str, tuple]]) -> Pipeline:
    """One report node per table: ``{table name: {run: (row label, paper test WER, paper GMACs)}}`` ->
    ``<table>_report.csv`` / ``.png`` and MLflow metrics, from the runs' evaluations."""
    nodes = []
    for name, rows in tables.items():
        report = update_wrapper(partial(ablation_table, rows=rows, title=table_title(name)), ablation_table)
        inputs = [f"{run}.{table}" for run in rows for table in ("wer_table", "efficiency_table")]
        nodes.append(node(report, inputs, [f"{name}_report", f"{name}_report_plot", f"{name}_report_metrics"],
                          name=f"{name}_report"))
    return Pipeline(nodes)


def table_title(name: str) -> str:
    """``smkd_table1`` -> "SMKD Table 1 (this corpus against the paper)"."""
    method, _, table = name.partition("_")
    method = {"smkd": "SMKD", "ctca": "CTCA", "crkd": "CRKD", "signkd": "SignKD"}.get(method, method)
    number = table.removeprefix("table")
    if method == "CRKD":  # the CRKD paper numbers its tables in Roman numerals
        number = {"7": "VII", "8": "VIII"}.get(number, number)
    named = f"Table {number.upper() if number.isalpha() else number}" if table.startswith("table") else (
        f"Fig. {table.removeprefix('fig')}" if table.startswith("fig") else table)
    return f"{method} {named} (this corpus against the paper)"


def paper_rows(pipeline: Pipeline) -> dict[str, list[tuple[str, str]]]:
    """``{run: [(table, row label), ...]}`` of the ablation tables (``ablation_tables``' report nodes) in
    ``pipeline``: what MLflow tags each run with."""
    rows: dict[str, list[tuple[str, str]]] = {}
    for report in pipeline.nodes:
        table_rows = getattr(report.func, "keywords", {}).get("rows")
        if report.name.endswith("_report") and isinstance(table_rows, dict):
            for run, (label, *_) in table_rows.items():
                rows.setdefault(run, []).append((report.name.removesuffix("_report"), label))
    return rows
