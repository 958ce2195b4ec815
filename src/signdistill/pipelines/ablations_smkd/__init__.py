"""``ablations_smkd``: SMKD's Tables 1, 3 and 4 on this corpus."""

from signdistill.pipelines.ablations_smkd.pipeline import create_pipeline

__all__ = ["create_pipeline"]
