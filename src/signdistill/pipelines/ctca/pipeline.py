"""Wiring of ``ctca``: CTCA trained and evaluated, reported against the baseline at the same resolution."""

from kedro.pipeline import Pipeline

from signdistill.pipelines.runs import method_against_baseline


def create_pipeline(**kwargs) -> Pipeline:
    return method_against_baseline("ctca", baseline="student_res")
