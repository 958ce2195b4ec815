"""``seeds_smkd``: SMKD and its baseline over the configured seeds, judged by a one-sided Welch t-test."""

from signdistill.pipelines.seeds_smkd.pipeline import create_pipeline

__all__ = ["create_pipeline"]
