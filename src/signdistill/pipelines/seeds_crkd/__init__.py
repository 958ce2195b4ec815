"""``seeds_crkd``: LRINet from scratch and distilled from one MSTNet teacher over the configured seeds."""

from signdistill.pipelines.seeds_crkd.pipeline import create_pipeline

__all__ = ["create_pipeline"]
