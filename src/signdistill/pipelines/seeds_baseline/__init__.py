"""``seeds_baseline``: the baseline at the student's resolution over the configured seeds."""

from signdistill.pipelines.seeds_baseline.pipeline import create_pipeline

__all__ = ["create_pipeline"]
