"""``teacher_crkd``: CRKD's high-resolution MSTNet-style teacher, trained and evaluated."""

from signdistill.pipelines.teacher_crkd.pipeline import create_pipeline

__all__ = ["create_pipeline"]
