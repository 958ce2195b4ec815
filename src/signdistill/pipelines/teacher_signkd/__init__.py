"""``teacher_signkd``: SignKD's multi-modal teacher (RGB, keypoint heatmaps, flow), trained and evaluated."""

from signdistill.pipelines.teacher_signkd.pipeline import create_pipeline

__all__ = ["create_pipeline"]
