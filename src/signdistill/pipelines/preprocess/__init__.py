"""``preprocess``: raw corpus -> index, vocabulary, packed frames at the teacher and student sizes."""

from signdistill.pipelines.preprocess.pipeline import create_pipeline

__all__ = ["create_pipeline"]
