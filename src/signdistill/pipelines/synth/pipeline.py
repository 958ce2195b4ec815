"""Wiring of the ``synth`` pipeline."""

from kedro.pipeline import Pipeline, node

from signdistill.pipelines.synth.nodes import synthsign_spec


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline([node(synthsign_spec, "params:synth", "corpus", name="generate_synthsign")])
