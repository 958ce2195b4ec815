"""How a benchmark reads configuration: an environment as ``kedro run --env`` sees it (``signdistill.config``,
through Kedro's loader), or, on a machine without Kedro, parameter files read alone (``--params FILE``).

Kedro is imported only when ``conf/`` is read: given parameter files and paths, a benchmark runs with torch and the
core alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer
import yaml

from signdistill.paths import DATA_ROOT

ENV_HELP = "Configuration environment (conf/<ENV> over conf/base, as `kedro run --env`; read through Kedro)."
CONF_HELP = "Configuration root holding base/ and the environments."
PARAMS_HELP = ("Parameter files read alone instead of --env (YAML, no Kedro: for a machine without it), "
               "e.g. conf/base/parameters_signkd.yml.")

# The options every benchmark that reads configuration or the corpus takes, declared once.
EnvOption = Annotated[str, typer.Option(metavar="ENV", help=ENV_HELP)]
ConfOption = Annotated[Path, typer.Option(metavar="PATH", help=CONF_HELP)]
ParamsOption = Annotated[list[Path], typer.Option(metavar="FILE ...", help=PARAMS_HELP)]
DataOption = Annotated[Path | None, typer.Option(metavar="PATH", help="Data root of the preprocessed corpus "
                                                 "(default: the environment's, data).")]
DeviceOption = Annotated[str, typer.Option(metavar="DEVICE", help="auto | cpu | cuda | cuda:N")]


def conf_env(conf: Path, env: str) -> tuple[Path, str]:
    """(configuration root, environment); ``conf`` may also name an environment's folder (``--conf conf/base``,
    as the benchmarks took it before they read environments)."""
    conf = Path(conf)
    if not (conf / "base").is_dir() and (conf.parent / "base").is_dir():
        if env not in ("base", conf.name):
            raise SystemExit(f"--conf {conf} is the environment {conf.name!r}, but --env says {env!r}")
        return conf.parent, conf.name
    return conf, env


def parameters(env: str = "base", conf: Path = Path("conf"), files: Sequence[Path] = ()) -> dict:
    """Every parameter section of ``env`` (Kedro's loader) or, given ``files``, of those YAML files alone, merged
    in order (a later file's top-level key replaces an earlier one's; no Kedro, so no interpolation)."""
    if files:
        merged: dict = {}
        for path in files:
            if not Path(path).is_file():
                raise SystemExit(f"--params {path}: no such file")
            loaded = yaml.safe_load(Path(path).read_text()) or {}
            unresolved = _interpolated(loaded)
            if unresolved:
                raise SystemExit(f"--params {path}: {unresolved[0]} is an OmegaConf interpolation, which only Kedro's "
                                 "loader resolves: read it with --env (e.g. --env phoenix2014 for conf/paper)")
            merged.update(loaded)
        return merged
    from signdistill.config import load_parameters  # Kedro: only where conf/ is read

    root, env = conf_env(conf, env)
    return load_parameters(env, root)


def data_root(data: Path | None, env: str = "base", conf: Path = Path("conf"), files: Sequence[Path] = ()) -> Path:
    """``data`` if given, else the environment's data root (a quick environment's own), else ``data``."""
    if data is not None:
        return Path(data)
    if files:
        return DATA_ROOT
    from signdistill.config import data_root as env_data_root  # Kedro: only where conf/ is read

    root, env = conf_env(conf, env)
    return env_data_root(env, root)


def section(params: dict, name: str, source: str) -> dict:
    """``params[name]``, or one message naming what is there."""
    if name not in params:
        known = sorted(k for k in params if not k.startswith("_"))
        raise SystemExit(f"{source} has no parameters {name!r}; it has {known}")
    return params[name]


def evaluation_settings(config: dict, env: str, files: Sequence[Path] = ()) -> dict:
    """The ``evaluation`` section of loaded parameters; for parameter files read alone that lack one, that of the
    ``parameters_evaluation.yml`` beside the first file (where these benchmarks read it before they read envs)."""
    if files and "evaluation" not in config:
        beside = Path(files[0]).parent / "parameters_evaluation.yml"
        return section(parameters(files=[beside]), "evaluation", str(beside))
    return section(config, "evaluation", " ".join(map(str, files)) or f"--env {env}")


def _interpolated(config: object, path: str = "") -> list[str]:
    """Where ``config`` holds ``${...}`` strings (``key.sub = value``)."""
    if isinstance(config, dict):
        return [hit for key, value in config.items() for hit in _interpolated(value, f"{path}{key}.")]
    if isinstance(config, list):
        return [hit for value in config for hit in _interpolated(value, path)]
    return [f"{path.rstrip('.')} = {config}"] if isinstance(config, str) and "${" in config else []
