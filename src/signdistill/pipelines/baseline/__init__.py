"""``baseline``: the VAC/SMKD baseline recogniser trained at the teacher and the student resolution."""

from signdistill.pipelines.baseline.pipeline import create_pipeline

__all__ = ["create_pipeline"]
