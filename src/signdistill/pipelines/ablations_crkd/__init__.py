"""``ablations_crkd``: CRKD's Table VII (loss functions) and Table VIII (student resolutions) on this corpus."""

from signdistill.pipelines.ablations_crkd.pipeline import create_pipeline

__all__ = ["create_pipeline"]
