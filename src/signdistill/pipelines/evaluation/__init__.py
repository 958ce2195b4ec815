"""``evaluation``: trained models -> hypotheses, WER tables (overall, per signer, del/ins/sub), curves, cost."""

from signdistill.pipelines.evaluation.pipeline import create_pipeline

__all__ = ["create_pipeline"]
