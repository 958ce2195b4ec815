"""Pipelines users type after ``kedro run --pipelines``: every package under ``pipelines/``.

Each package wires only its own nodes; a pipeline that reads what another produces (the corpus and its stores
from the data stages, a teacher's model, the baseline's evaluation) gets the producing nodes here
(``with_producers``), so that any pipeline runs from a fresh clone and no pipeline imports another. Finished
stages skip their work on a rerun (caches and checkpoints).
"""

from __future__ import annotations

import importlib
import importlib.resources

from kedro.pipeline import Pipeline


def with_producers(pipeline: Pipeline, others: dict[str, Pipeline]) -> Pipeline:
    """``pipeline`` plus, from ``others``, what produces each input it reads and lacks (and, in turn, their
    inputs): of a run's producer (``<run>.model`` from ``teacher_crkd``), that run's namespace (its training and
    evaluation), of any other producer (the data stages), the whole pipeline (its reports and previews too)."""
    while True:
        wanted = {name for name in pipeline.inputs() if not name.startswith("params:") and name != "parameters"}
        added = [producer(name, others) for name in sorted(wanted)]
        new = {n for part in added if part is not None for n in part.nodes} - set(pipeline.nodes)
        if not new:
            return pipeline
        pipeline += Pipeline(new)


def producer(dataset: str, pipelines: dict[str, Pipeline]) -> Pipeline | None:
    """The part of ``pipelines`` that makes ``dataset`` (see ``with_producers``); None if none makes it."""
    for pipe in pipelines.values():
        node = next((n for n in pipe.nodes if dataset in n.outputs), None)
        if node is not None:
            return pipe.only_nodes_with_namespaces([node.namespace]) if node.namespace else pipe
    return None


def own_pipelines() -> dict[str, Pipeline]:
    """Every package under ``pipelines/`` with its own nodes. Not Kedro's ``find_pipelines``: under ``kedro run
    --pipelines X`` that loads X alone, and X needs the others to find its producers."""
    root = importlib.resources.files("signdistill.pipelines")
    names = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith(("_", ".")))
    return {name: importlib.import_module(f"signdistill.pipelines.{name}").create_pipeline() for name in names}


def register_pipelines() -> dict[str, Pipeline]:
    own = own_pipelines()
    pipelines = {name: with_producers(pipe, {k: v for k, v in own.items() if k != name}) for name, pipe in own.items()}
    if "distill_signkd" in pipelines:
        pipelines["__default__"] = pipelines["distill_signkd"]
    return pipelines
