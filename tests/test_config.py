"""Quick mode (``conf/quick``): every run trains its quick epochs on the tiny preset, under its own data root."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from kedro.config import MissingConfigException
from omegaconf.errors import InterpolationResolutionError

from signdistill.config import SignDistillConfigLoader

CONF = Path(__file__).resolve().parents[1] / "conf"
QUICK_EPOCHS = yaml.safe_load((CONF / "quick/quick.yml").read_text())["epochs"]


def _loader(env: str, runtime_params: dict | None = None) -> SignDistillConfigLoader:
    loader = SignDistillConfigLoader(str(CONF), env=env, base_env="base", default_run_env="local",
                                     runtime_params=runtime_params)
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
    staged = yaml.safe_load((CONF / "quick/quick.yml").read_text())["staged_epochs"]
    assert all(section["train"]["epochs"] == (staged if section["model"].get("staged") else QUICK_EPOCHS)
               for section in sections.values())
    assert all(section["checkpoint_dir"].startswith("data/quick/") for section in sections.values()
               if "checkpoint_dir" in section)
    assert params["checkpoint_root"] == "data/quick/06_models/checkpoints"  # the runs that say no checkpoint_dir
    assert params["synth"]["preset"] == "tiny"
    catalog = quick["catalog"]
    assert catalog["corpus"]["path"] == "data/quick/01_raw/synthsign"
    assert not [s for s in _strings(catalog) if s.startswith("data/") and not s.startswith("data/quick/")]
    assert quick["mlflow"]["tracking"]["experiment"]["name"] == "signdistill_quick"
    # the default environment is untouched
    assert base["parameters"]["smkd_ws"]["recognizer"]["train"]["epochs"] == 24
    assert base["catalog"]["corpus"]["path"] == "data/01_raw/synthsign"
    assert base["mlflow"]["tracking"]["experiment"]["name"] == "signdistill"


@pytest.mark.parametrize("env", ["local", "quick", "phoenix2014"])
def test_runtime_params_merge_into_nested_sections_in_every_env(env: str) -> None:
    """``--params smkd.recognizer.train.lr=0.01`` changes that one key, whichever environment defines what."""
    overrides = {"smkd": {"recognizer": {"train": {"lr": 0.01}}}, "synth": {"seed": 7}, "new_key": 1}
    plain, changed = _loader(env)["parameters"], _loader(env, overrides)["parameters"]
    assert changed["smkd"]["recognizer"]["train"]["lr"] == 0.01
    assert changed["synth"]["seed"] == 7 and changed["new_key"] == 1
    plain["smkd"]["recognizer"]["train"]["lr"], plain["synth"]["seed"], plain["new_key"] = 0.01, 7, 1
    assert changed == plain  # nothing else moved: the environment's own `synth` (quick) kept its other keys


def test_quick_epochs_are_a_default_that_params_override() -> None:
    params = _loader("quick", {"smkd": {"recognizer": {"train": {"epochs": 7}}}})["parameters"]
    assert params["smkd"]["recognizer"]["train"]["epochs"] == 7
    assert params["smkd_ws"]["recognizer"]["train"]["epochs"] == QUICK_EPOCHS
    staged = yaml.safe_load((CONF / "quick/quick.yml").read_text())["staged_epochs"]
    assert params["smkd_sync_dec"]["recognizer"]["train"]["epochs"] == staged > QUICK_EPOCHS  # SMKD's stages
    assert params["student_res"]["recognizer"]["train"]["epochs"] == QUICK_EPOCHS
    assert params["checkpoint_root"].startswith("data/quick/")


def test_run_spec_names_the_run_and_key_of_a_wrongly_typed_value() -> None:
    from signdistill.errors import InputError
    from signdistill.training.spec import RunSpec

    section = _loader("quick", {"smkd": {"recognizer": {"train": {"epochs": "abc"}}}})["parameters"]["smkd"]
    with pytest.raises(InputError, match=r"^run 'smkd': train.epochs must be an integer, got 'abc'$"):
        RunSpec.from_params(section["recognizer"], "smkd")
    for key, value, says in [("crop", "36", "crop must be an integer"), ("flip", "yes", "flip must be true or false"),
                             ("crop_scale", [0.5], "crop_scale must be a list of 2 numbers or null")]:
        with pytest.raises(InputError, match=f"^run 'smkd': {says}, got"):
            RunSpec.from_params({**section["recognizer"], key: value}, "smkd")


PAPER_RULES = {"phoenix2014": "phoenix2014", "phoenix2014t": "phoenix2014t", "csl_daily": "none"}


def _without_rules(config):
    """``config`` with every ``rules`` value blanked (what the paper environments may differ in)."""
    if isinstance(config, dict):
        return {k: "<rules>" if k == "rules" else _without_rules(v) for k, v in config.items()}
    if isinstance(config, list):
        return [_without_rules(v) for v in config]
    return config


def test_paper_envs_share_conf_paper_and_differ_only_in_rules_and_corpus() -> None:
    loaded = {env: _loader(env) for env in PAPER_RULES}
    params = {env: loader["parameters"] for env, loader in loaded.items()}
    catalogs = {env: loader["catalog"] for env, loader in loaded.items()}
    paper_files = "".join(f.read_text() for f in (CONF / "paper").glob("parameters_*.yml"))
    for env, rules in PAPER_RULES.items():
        assert params[env]["evaluation"]["rules"] == rules
        paper_runs = [run for run, section in params[env].items() if isinstance(section, dict) and "rules" in
                      section.get("recognizer", {}) and f"\n{run}:" in paper_files]
        defined = [run for run in params[env] if f"\n{run}:" in paper_files and "recognizer" in params[env][run]]
        assert paper_runs == defined and len(paper_runs) == 37  # SignKD 3 + 14 ablations, CRKD 5, CTCA 12, combined 3
        assert {params[env][run]["recognizer"]["rules"] for run in paper_runs} == {rules}
        assert params[env]["signkd_teacher"]["recognizer"]["crop"] == 224  # conf/paper, not conf/base
        assert catalogs[env]["corpus"]["layout"] == env and not catalogs[env]["corpus"]["generate"]
        # the environment's own folder says only what differs
        lines = sum(len(f.read_text().splitlines()) for f in (CONF / env).glob("*.yml"))
        assert lines < 40, f"conf/{env} holds {lines} lines"
    first, *others = PAPER_RULES
    for env in others:
        assert _without_rules(params[env]) == _without_rules(params[first])
        corpus = {k: v for k, v in catalogs[env].items() if k != "corpus"}
        assert corpus == {k: v for k, v in catalogs[first].items() if k != "corpus"}


def test_env_yml_stacks_folders_between_base_and_the_env(tmp_path: Path) -> None:
    conf = tmp_path / "conf"
    for folder, text in {"base": "a: {x: base}\nb: base\nc: base\n", "mid": "b: {y: mid}\nc: '${globals:c}'\n",
                         "top": "c: top\n"}.items():
        (conf / folder).mkdir(parents=True)
        (conf / folder / "parameters.yml").write_text(text)
    (conf / "top" / "globals.yml").write_text("c: from_globals\n")
    (conf / "top" / "env.yml").write_text("extends: mid\n")
    (conf / "other").mkdir()
    (conf / "other" / "env.yml").write_text("extends: nowhere\n")
    loader = SignDistillConfigLoader(str(conf), env="top", base_env="base", default_run_env="local")
    assert loader["parameters"] == {"a": {"x": "base"}, "b": {"y": "mid"}, "c": "top"}  # whole keys replaced
    loader = SignDistillConfigLoader(str(conf), env="mid", base_env="base", default_run_env="local")
    # conf/mid alone has no globals to read
    with pytest.raises(InterpolationResolutionError, match="Globals key .c. not found"):
        loader["parameters"]
    (conf / "top" / "parameters.yml").unlink()
    loader = SignDistillConfigLoader(str(conf), env="top", base_env="base", default_run_env="local")
    assert loader["parameters"]["c"] == "from_globals"
    with pytest.raises(MissingConfigException, match=r"other/env.yml: extends 'nowhere'"):
        SignDistillConfigLoader(str(conf), env="other", base_env="base", default_run_env="local")["parameters"]


def test_runs_leave_the_shared_defaults_out() -> None:
    """Defaults every run shares are said once, in RunSpec: no run of base or a paper environment spells them
    (a run's own checkpoint_dir, another rules or more processes are what it says)."""
    from dataclasses import asdict

    from signdistill.training.spec import DATA_DEFAULTS, DDPSpec

    defaults = {**{k: DATA_DEFAULTS[k] for k in ("rules", "flip", "temporal_scale")}, "ddp": asdict(DDPSpec())}
    for env in ("local", *PAPER_RULES):
        params = _loader(env)["parameters"]
        runs = {run: s["recognizer"] for run, s in params.items() if isinstance(s, dict) and "recognizer" in s}
        assert len(runs) > 40
        for run, section in runs.items():
            spelled = [key for key, value in defaults.items() if key in section and section[key] == value
                       and not (key == "rules" and env in PAPER_RULES)]  # there: the corpus' rules, said once
            spelled += ["checkpoint_dir"] * (section.get("checkpoint_dir") == f"{params['checkpoint_root']}/{run}")
            assert not spelled, f"{env}: {run} spells the default {spelled}"


@pytest.mark.parametrize("env", ["base", "quick", "phoenix2014", "phoenix2014t", "csl_daily"])
def test_every_run_of_every_env_parses_with_its_model_types_checked(env: str) -> None:
    """Each run's ``recognizer`` section, model values' types included, is valid as configured: a wrong type in
    a shipped configuration fails here, not when its pipeline reaches it."""
    from signdistill.training.spec import RunSpec

    params = _loader(env)["parameters"]
    runs = {name: section["recognizer"] for name, section in params.items()
            if isinstance(section, dict) and isinstance(section.get("recognizer"), dict)}
    assert len(runs) > 20
    for name, recognizer in runs.items():
        RunSpec.from_params(recognizer, name)
    broken = {**runs["smkd"], "model": {**runs["smkd"]["model"], "width": "wide"}}
    with pytest.raises(ValueError, match="^run 'smkd': model.width must be an integer, got 'wide'$"):
        RunSpec.from_params(broken, "smkd")
