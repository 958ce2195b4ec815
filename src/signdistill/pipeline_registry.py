"""Pipelines users type after ``kedro run --pipelines``: every package under ``pipelines/``.

Chains such as ``distill_signkd`` are packages too, composing the stages they need, so that Kedro's
selective loading of the requested pipeline finds them.
"""

from __future__ import annotations

from kedro.framework.project import find_pipelines
from kedro.pipeline import Pipeline


def register_pipelines() -> dict[str, Pipeline]:
    pipelines = find_pipelines()
    if "distill_signkd" in pipelines:
        pipelines["__default__"] = pipelines["distill_signkd"]
    return pipelines
