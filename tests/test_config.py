"""Quick mode (``conf/quick``): every run trains its quick epochs on the tiny preset, under its own data root."""

from __future__ import annotations

from pathlib import Path

from signdistill.config import SignDistillConfigLoader

CONF = Path(__file__).resolve().parents[1] / "conf"


def _loader(env: str) -> SignDistillConfigLoader:
    loader = SignDistillConfigLoader(str(CONF), env=env, base_env="base", default_run_env="local")
    loader.config_patterns["mlflow"] = ["mlflow*", "mlflow*/**"]  # as kedro-mlflow registers it
    return loader


def _train_sections(params: dict, path: str = ""):
    for key, value in params.items():
        if isinstance(value, dict):
            if isinstance(value.get("train"), dict) and "epochs" in value["train"]:
                yield f"{path}{key}", value
            yield from _train_sections(value, f"{path}{key}.")


def _strings(config, found=None) -> list[str]:
    found = [] if found is None else found
    if isinstance(config, dict):
        for value in config.values():
            _strings(value, found)
    elif isinstance(config, list):
        for value in config:
            _strings(value, found)
    elif isinstance(config, str):
        found.append(config)
    return found


def test_quick_env_trains_every_run_briefly_on_tiny_under_its_own_root() -> None:
    quick, base = _loader("quick"), _loader("local")
    params = quick["parameters"]
    sections = dict(_train_sections(params))
    assert len(sections) > 30 and {"smkd_ws", "teacher_res", "signkd_teacher"} <= {k.split(".")[0] for k in sections}
    assert all(section["train"]["epochs"] == 1 for section in sections.values())
    assert all(section["checkpoint_dir"].startswith("data/quick/") for section in sections.values()
               if "checkpoint_dir" in section)
    assert params["synth"]["preset"] == "tiny"
    catalog = quick["catalog"]
    assert catalog["corpus"]["path"] == "data/quick/01_raw/synthsign"
    assert not [s for s in _strings(catalog) if s.startswith("data/") and not s.startswith("data/quick/")]
    assert quick["mlflow"]["tracking"]["experiment"]["name"] == "signdistill_quick"
    # the default environment is untouched
    assert base["parameters"]["smkd_ws"]["recognizer"]["train"]["epochs"] == 24
    assert base["catalog"]["corpus"]["path"] == "data/01_raw/synthsign"
    assert base["mlflow"]["tracking"]["experiment"]["name"] == "signdistill"
