"""``distill_combined``: SignKD's multi-modal teacher distilled into a low-resolution RGB student.

The teacher is ``distill_signkd``'s (the registry adds its run, so both pipelines train and read one checkpoint);
the student is SignKD's RGB S3D at CRKD's student resolution, trained from scratch and distilled at one budget
(docs/methods/combined.md).
"""

from signdistill.pipelines.distill_combined.pipeline import create_pipeline

__all__ = ["create_pipeline"]
