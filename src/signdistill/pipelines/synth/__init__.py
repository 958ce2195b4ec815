"""``synth``: parameters -> the embedded SynthSign corpus in ``data/01_raw``."""

from signdistill.pipelines.synth.pipeline import create_pipeline

__all__ = ["create_pipeline"]
