"""``seeds_combined``: the low-resolution RGB student distilled from SignKD's teacher, over seeds, judged."""

from signdistill.pipelines.seeds_combined.pipeline import create_pipeline

__all__ = ["create_pipeline"]
