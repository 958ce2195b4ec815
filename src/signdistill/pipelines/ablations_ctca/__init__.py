"""``ablations_ctca``: CTCA's Table 5 on this corpus."""

from signdistill.pipelines.ablations_ctca.pipeline import create_pipeline

__all__ = ["create_pipeline"]
