"""Pipeline builders every pipeline shares: a run's training, its evaluation, reports over runs.

A *run* is a namespace: ``<run>.recognizer`` (parameters) -> ``<run>.model``, ``<run>.history`` -> ``<run>.wer_table``,
``<run>.efficiency_table``, ... Pipelines compose these builders; they never import one another (a pipeline that
reads another's outputs, such as a teacher's model, gets its producer from ``pipeline_registry``).
"""

from __future__ import annotations

import os
from functools import lru_cache, partial, update_wrapper
from pathlib import Path

import yaml
from kedro.pipeline import Pipeline, node, pipeline

from signdistill.pipelines.nodes import decode_splits, train_recognizer
from signdistill.reporting.comparison import ablation_table, report_table
from signdistill.reporting.evaluation import efficiency_table, hypotheses_text, training_curves, wer_tables
from signdistill.reporting.papers import PaperRow, report_rows
from signdistill.reporting.seeds import seeds_inputs, seeds_report
from signdistill.training.seeds import seed_run_name

TRAINING_INPUTS = ("frame_store", "corpus_index", "vocabulary")


def named(func, **bound):  # noqa: ANN001, ANN201 - a node's function with arguments bound, keeping its name
    return update_wrapper(partial(func, **bound), func)


def train_run(run: str, teacher: str | None = None, features: bool = False, seed: int | None = None) -> Pipeline:
    """``<run>.model`` and ``<run>.history`` from the ``<run>.recognizer`` parameters; distilled from the frozen
    ``<teacher>.model`` when ``teacher`` is given; ``features``: the run reads the feature store (SignKD).
    ``seed``: the run at that seed, in the namespace ``<run>_seed<s>`` (its own checkpoints, model and reports)."""
    inputs = {"store": "frame_store", "index": "corpus_index", "vocabulary": "vocabulary",
              "params": "params:recognizer", "checkpoint_root": "params:checkpoint_root"}
    if teacher:
        inputs["teacher"] = "teacher"
    if features:
        inputs["features"] = "feature_store"
    func = named(train_recognizer, run=run, **({"seed": seed} if seed is not None else {}))
    training = Pipeline([node(func, inputs, ["model", "history"], name="distill" if teacher else "train")])
    shared = {name: name for name in (*TRAINING_INPUTS, *(["feature_store"] if features else []))}
    namespace = run if seed is None else seed_run_name(run, seed)
    parameters = {"checkpoint_root": "checkpoint_root", "recognizer": f"{run}.recognizer"}
    return pipeline(training, namespace=namespace, parameters=parameters,
                    inputs={**shared, **({"teacher": f"{teacher}.model"} if teacher else {})})


def _evaluation(run: str, features: bool = False) -> Pipeline:
    decode_inputs = {"package": "model", "store": "frame_store", "index": "corpus_index",
                     "params": "params:evaluation", **({"features": "feature_store"} if features else {})}
    return Pipeline([
        node(decode_splits, decode_inputs, "hypotheses", name="decode"),
        node(hypotheses_text, "hypotheses", "hypotheses_txt", name="write_hypotheses"),
        node(wer_tables, ["hypotheses", "corpus_index", "params:evaluation"], ["wer_table", "wer_metrics"],
             name="score"),
        node(named(training_curves, run=run), "history", "training_curves", name="plot_training_curves"),
        node(efficiency_table, ["model", "params:evaluation"], "efficiency_table", name="profile"),
    ])


def evaluate_runs(runs: tuple[str, ...] | list[str], features: bool = False) -> Pipeline:
    """Decode, score, plot and profile each run's ``<run>.model``; ``features``: the models read the feature
    store's streams too (SignKD teachers)."""
    shared = {"frame_store", "corpus_index"} | ({"feature_store"} if features else set())
    return sum((pipeline(_evaluation(run, features), namespace=run, inputs=shared, parameters={"evaluation"})
                for run in runs), Pipeline([]))


def _tables(runs: list[str]) -> list[str]:
    return [f"{run}.{table}" for run in runs for table in ("wer_table", "efficiency_table")]


def report(name: str, title: str, labels: dict[str, str] | None = None, func=report_table,  # noqa: ANN001
           extra_inputs: tuple[str, ...] = ()) -> Pipeline:
    """``<name>`` (CSV), ``<name>_plot`` and ``<name>_metrics`` comparing the runs of the paper table ``name``
    (``reporting.papers``) with the paper's numbers."""
    rows = report_rows(name)
    func = named(func, rows=rows, title=title, **({"labels": labels} if labels else {}))
    return Pipeline([node(func, [*extra_inputs, *_tables(list(rows))], [name, f"{name}_plot", f"{name}_metrics"],
                          name=name)])


def method_against_baseline(run: str, baseline: str = "student_res") -> Pipeline:
    """``run`` trained and evaluated, then ``<run>_report`` comparing it with the baseline run (trained by the
    ``baseline`` pipeline, which the registry adds; a baseline already trained resumes from its checkpoint)."""
    return (train_run(run) + evaluate_runs([run])
            + report(f"{run}_report", title=f"{run} against the baseline ({baseline})"))


def ablation_tables(tables: list[str]) -> Pipeline:
    """One report node per paper table (``reporting.papers.PAPER_TABLES``): ``<table>_report.csv`` / ``.png`` and
    MLflow metrics, from the runs' evaluations."""
    nodes = []
    for name in tables:
        rows: dict[str, PaperRow] = report_rows(name)
        func = named(ablation_table, rows=rows, title=table_title(name))
        nodes.append(node(func, _tables(list(rows)), [f"{name}_report", f"{name}_report_plot",
                                                      f"{name}_report_metrics"], name=f"{name}_report"))
    return Pipeline(nodes)


def table_title(name: str) -> str:
    """``smkd_table1`` -> "SMKD Table 1 (this corpus against the paper)"."""
    method, _, table = name.partition("_")
    method = {"smkd": "SMKD", "ctca": "CTCA", "crkd": "CRKD", "signkd": "SignKD"}.get(method, method)
    number = table.removeprefix("table")
    if method == "CRKD":  # the CRKD paper numbers its tables in Roman numerals
        number = {"7": "VII", "8": "VIII"}.get(number, number)
    named_table = f"Table {number.upper() if number.isalpha() else number}" if table.startswith("table") else (
        f"Fig. {table.removeprefix('fig')}" if table.startswith("fig") else table)
    return f"{method} {named_table} (this corpus against the paper)"


def paper_rows(pipeline: Pipeline) -> dict[str, list[tuple[str, str]]]:
    """``{run: [(table, row label), ...]}`` of the ablation tables (``ablation_tables``' report nodes) in
    ``pipeline``: what MLflow tags each run with."""
    rows: dict[str, list[tuple[str, str]]] = {}
    for report_node in pipeline.nodes:
        if getattr(report_node.func, "func", None) is not ablation_table:
            continue
        for run, (label, *_) in report_node.func.keywords["rows"].items():
            rows.setdefault(run, []).append((report_node.name.removesuffix("_report"), label))
    return rows


DEFAULT_SEEDS = (0, 1, 2, 3, 4)


def _parameter_files(conf: Path) -> list[dict]:
    """The parameters files the pipelines are built from: ``conf/base``'s, then the environment in use
    (``KEDRO_ENV``, else ``local``; ``kedro run --env`` sets it)."""
    return [_parameters_in(path.resolve(), path.stat().st_mtime_ns)
            for env in ("base", os.environ.get("KEDRO_ENV") or "local")
            for path in sorted((conf / env).glob("parameters*.yml"))]


def _configured(key: str, conf: Path) -> object:
    """Parameter ``key`` as the pipelines are built (``_parameter_files``, the last file that sets it); None when
    no file sets it."""
    value = None
    for parameters in _parameter_files(conf):
        found = parameters.get(key)
        value = found if found is not None else value
    return value


def configured_seeds(conf: Path = Path("conf")) -> tuple[int, ...]:
    """The ``seeds`` parameter (``_configured``). The seed list is structure (one namespace per seed), so it is
    read when the pipelines are built, not from ``--params``."""
    seeds = _configured("seeds", conf)
    if seeds is None:
        return DEFAULT_SEEDS
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) for s in seeds):
        raise ValueError(f"parameter seeds: expected a non-empty list of integers, got {seeds!r}")
    if len(set(seeds)) < len(seeds):  # one namespace per seed: a repeated seed would train twice into one place
        raise ValueError(f"parameter seeds: each seed once, got {seeds!r}")
    return tuple(seeds)


def configured_left_out(conf: Path = Path("conf")) -> frozenset[str]:
    """The ``seeds_left_out`` parameter (``_configured``): runs the seeds pipelines neither train nor judge."""
    runs = _configured("seeds_left_out", conf) or []
    if not isinstance(runs, list) or not all(isinstance(r, str) for r in runs):
        raise ValueError(f"parameter seeds_left_out: expected a list of run names, got {runs!r}")
    known = {name for parameters in _parameter_files(conf) for name, section in parameters.items()
             if isinstance(section, dict) and "recognizer" in section}
    if unknown := sorted(set(runs) - known):  # a misspelt run would otherwise be trained after all
        raise ValueError(f"parameter seeds_left_out: no run named {unknown} in the parameters")
    return frozenset(runs)


@lru_cache(maxsize=256)
def _parameters_in(path: Path, mtime_ns: int) -> dict:
    """One parameters file, parsed once per version of the file (every seeds pipeline asks)."""
    return yaml.safe_load(path.read_text()) or {}


def seed_runs(run: str, seeds: tuple[int, ...], teacher: str | None = None, features: bool = False) -> Pipeline:
    """``run`` trained and evaluated at each seed, one namespace ``<run>_seed<s>`` per seed; a distilled run's
    seeds share the one frozen ``<teacher>.model``."""
    if run in configured_left_out():
        return Pipeline([])
    trained = sum((train_run(run, teacher, features, seed=seed) for seed in seeds), Pipeline([]))
    return trained + evaluate_runs([seed_run_name(run, seed) for seed in seeds])


def seeds_verdict(method: str, comparisons: list[tuple[str, str]], seeds: tuple[int, ...], title: str) -> Pipeline:
    """``<method>_seeds`` (CSV), ``<method>_seeds_plot`` and ``<method>_seeds_metrics``: each (method run, baseline
    run) pair over ``seeds``, judged by a one-sided Welch t-test on test WER (``reporting.seeds``). A pair with a
    run of ``seeds_left_out`` is listed in the table as not judged."""
    left_out = configured_left_out()
    judged = [pair for pair in comparisons if not left_out.intersection(pair)]
    if not judged:
        return Pipeline([])
    func = named(seeds_report, comparisons=judged, seeds=list(seeds), title=title,
                 left_out=[pair for pair in comparisons if pair not in judged])
    return Pipeline([node(func, seeds_inputs(judged, list(seeds)),
                          [f"{method}_seeds", f"{method}_seeds_plot", f"{method}_seeds_metrics"],
                          name=f"{method}_seeds_verdict")])
