"""``ablations_signkd``: SignKD's Table 3 (teacher components) and Table 4(b) (student losses) on this corpus."""

from signdistill.pipelines.ablations_signkd.pipeline import create_pipeline

__all__ = ["create_pipeline"]
