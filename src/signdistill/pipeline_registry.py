"""Pipelines users type after ``kedro run --pipelines``: every package under ``pipelines/``.

Chains such as ``distill_signkd`` are packages too, composing the stages they need, so that Kedro's
selective loading of the requested pipeline finds them. Every pipeline that reads what the data stages
produce (the corpus, its index and frame store, the feature store) includes those stages, so that any
pipeline runs from a fresh clone; finished stages skip their work on a rerun.
"""

from __future__ import annotations

from kedro.framework.project import find_pipelines
from kedro.pipeline import Pipeline


def _data_stages() -> dict[str, Pipeline]:
    from signdistill.pipelines import features, preprocess, synth

    return {"synth": synth.create_pipeline(), "preprocess": preprocess.create_pipeline(),
            "features": features.create_pipeline()}


def with_data_stages(pipeline: Pipeline, stages: dict[str, Pipeline]) -> Pipeline:
    """``pipeline`` plus every data stage whose outputs it (or a stage added for it) reads and lacks."""
    added = True
    while added:
        added = False
        free = pipeline.inputs()
        for stage in stages.values():
            if stage.all_outputs() & free and not stage.all_outputs() & pipeline.all_outputs():
                pipeline, added = stage + pipeline, True
    return pipeline


def register_pipelines() -> dict[str, Pipeline]:
    pipelines = find_pipelines()
    stages = _data_stages()
    pipelines = {name: with_data_stages(pipe, {k: v for k, v in stages.items() if k != name})
                 for name, pipe in pipelines.items()}
    if "distill_signkd" in pipelines:
        pipelines["__default__"] = pipelines["distill_signkd"]
    return pipelines
