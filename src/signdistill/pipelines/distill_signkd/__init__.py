"""``distill_signkd``: the project's main job, every stage it needs from raw data.

Today that is SynthSign generation, preprocessing and the features (flow and keypoints); the teacher,
distillation and evaluation stages join this chain as they land.
"""

from kedro.pipeline import Pipeline

from signdistill.pipelines import features, preprocess, synth


def create_pipeline(**kwargs) -> Pipeline:
    return synth.create_pipeline() + preprocess.create_pipeline() + features.create_pipeline()
