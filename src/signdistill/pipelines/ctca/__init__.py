"""``ctca``: CTCA trained next to the baseline (student_res) on the same corpus and budget, and compared."""

from signdistill.pipelines.ctca.pipeline import create_pipeline

__all__ = ["create_pipeline"]
