"""``seeds_signkd``: the RGB student from scratch and distilled from one SignKD teacher over the seeds."""

from signdistill.pipelines.seeds_signkd.pipeline import create_pipeline

__all__ = ["create_pipeline"]
