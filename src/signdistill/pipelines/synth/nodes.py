"""Nodes of the ``synth`` pipeline."""

from __future__ import annotations

from signdistill.synth.corpus import get_preset


def synthsign_spec(synth: dict) -> dict:
    """What to generate: the ``corpus`` dataset writes it, or skips it when the corpus is current."""
    get_preset(synth["preset"], **synth.get("overrides", {}))  # fail early on a bad preset or override
    return {"preset": synth["preset"], "seed": int(synth["seed"]), "overrides": dict(synth.get("overrides", {}))}
