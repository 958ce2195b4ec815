"""``distill_signkd``: the project's main job, every stage it needs from raw data.

SynthSign generation, preprocessing, the features (flow and keypoints), the SignKD teacher, the RGB student
from scratch and distilled from the teacher, their evaluations and the report.
"""

from signdistill.pipelines.distill_signkd.pipeline import create_pipeline

__all__ = ["create_pipeline"]
