"""``features``: TV-L1 flow and whole-body keypoints per video (cached), with preview pictures."""

from signdistill.pipelines.features.pipeline import create_pipeline

__all__ = ["create_pipeline"]
