"""A run's parameters parsed once into a ``RunSpec``: defaults, validation that names the run, a round trip."""

from __future__ import annotations

from pathlib import Path

import pytest

from signdistill.training.spec import DistillSpec, RunSpec, run_fingerprint

PARAMS = {"kind": "smkd", "store_size": 40, "crop": 36, "model": {"width": 4, "hidden": 16},
          "train": {"epochs": 2, "lr": 2e-3}}


def test_defaults_fill_what_a_run_leaves_out() -> None:
    spec = RunSpec.from_params(PARAMS, "smkd_ws", "data/06_models/checkpoints")
    assert spec.checkpoint_dir == Path("data/06_models/checkpoints/smkd_ws")
    assert spec.flip is True and spec.rules == "none" and spec.resize is None and spec.distill is None
    assert not spec.ddp.distributed and spec.train.epochs == 2 and spec.train.batch_size == 2
    assert RunSpec.from_params({**PARAMS, "checkpoint_dir": "elsewhere"}, "smkd_ws").checkpoint_dir == Path(
        "elsewhere")


def test_the_spec_reads_back_to_itself_and_fingerprints_as_its_yaml() -> None:
    spec = RunSpec.from_params({**PARAMS, "distill": {"method": "signkd", "output_loss": False}}, "run")
    assert RunSpec.from_params(spec.to_params(), "run") == spec
    assert spec.distill == DistillSpec(method="signkd", options={"output_loss": False})
    vocabulary = {"glosses": ["A"]}
    spelled = {**PARAMS, "distill": {"method": "signkd", "output_loss": False}}
    assert run_fingerprint(spec.to_params(), vocabulary) == run_fingerprint(spelled, vocabulary)


def test_one_schema_says_the_defaults_and_fingerprints_the_run() -> None:
    """A default spelled out or left out is the same run (same fingerprint); any default changed is another."""
    import dataclasses

    from signdistill.training.spec import DATA_DEFAULTS
    from signdistill.training.trainer import TrainConfig

    # pinned: changing a default changes the fingerprint of every run that leaves it out (they start afresh)
    assert DATA_DEFAULTS == {"kind": "baseline", "resize": None, "flip": True, "temporal_scale": 0.2,
                             "temporal_context": 12, "crop_scale": None, "streams": None, "rules": "none"}
    vocabulary = {"glosses": ["A", "B"]}
    spec = RunSpec.from_params(PARAMS, "run")
    train_defaults = {f.name: getattr(TrainConfig(), f.name) for f in dataclasses.fields(TrainConfig)
                      if f.name != "run_fingerprint"}
    spelled = {**DATA_DEFAULTS, **PARAMS, "train": {**train_defaults, **PARAMS["train"]}}
    assert RunSpec.from_params(spelled, "run").fingerprint(vocabulary) == spec.fingerprint(vocabulary)
    for key, value in {"flip": False, "temporal_scale": 0.1, "temporal_context": 8, "crop": 32}.items():
        other = RunSpec.from_params({**PARAMS, key: value}, "run")
        assert other.fingerprint(vocabulary) != spec.fingerprint(vocabulary), key
    for key, value in {"lr": 0.5, "weight_decay": 0.0, "gamma": 0.9}.items():
        other = RunSpec.from_params({**PARAMS, "train": {**PARAMS["train"], key: value}}, "run")
        assert other.fingerprint(vocabulary) != spec.fingerprint(vocabulary), key
    assert spec.fingerprint({"glosses": ["A", "C"]}) != spec.fingerprint(vocabulary)


@pytest.mark.parametrize(("params", "message"), [
    ({**PARAMS, "crops": 36}, "unknown parameters ['crops']"),
    ({k: v for k, v in PARAMS.items() if k != "crop"}, "missing parameters ['crop']"),
    ({**PARAMS, "model": {"widht": 4}}, "smkd has no parameters ['widht']"),
    ({**PARAMS, "train": {"epoch": 2}}, "unknown train parameters ['epoch']"),
    ({**PARAMS, "streams": ["depth"]}, "unknown streams ['depth']"),
    ({**PARAMS, "distill": {"method": "fitnet"}}, "unknown distillation method 'fitnet'"),
])
def test_a_bad_run_is_named_with_its_problem(params: dict, message: str) -> None:
    with pytest.raises(ValueError, match=r"run 'smkd_ws': .*" + message.replace("[", r"\[").replace("]", r"\]")):
        RunSpec.from_params(params, "smkd_ws")
