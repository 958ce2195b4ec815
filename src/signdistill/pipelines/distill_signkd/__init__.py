"""``distill_signkd``: the project's main job, every stage it needs from raw data.

Today that is SynthSign generation and preprocessing; the features, teacher and distillation stages
join this chain as they land.
"""

from kedro.pipeline import Pipeline

from signdistill.pipelines import preprocess, synth


def create_pipeline(**kwargs) -> Pipeline:
    return synth.create_pipeline() + preprocess.create_pipeline()
