"""``distill_crkd``: CRKD end to end — teacher, LRINet from scratch, LRINet distilled, and the report."""

from signdistill.pipelines.distill_crkd.pipeline import create_pipeline

__all__ = ["create_pipeline"]
