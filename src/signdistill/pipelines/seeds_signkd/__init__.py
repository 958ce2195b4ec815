"""``smkd``: SMKD trained next to the baseline (student_res) on the same corpus and budget, and compared."""

from signdistill.pipelines.smkd.pipeline import create_pipeline

__all__ = ["create_pipeline"]
