"""The project's config loader: Kedro's ``OmegaConfigLoader`` plus quick environments.

An environment with a ``quick.yml`` (``conf/quick``) trains every run of any pipeline for a few epochs and keeps
everything it writes under its own data root, so that trying a pipeline never touches the default corpus'
data, models or checkpoints::

    data_root: data/quick         # every "data/..." path of the catalog and the parameters moves here
    epochs: 3                     # every run's train.epochs, unless ``--params`` says otherwise
    staged_epochs: 11             # those of a run trained in stages (SMKD): three points of each stage's terms
    mlflow_experiment: signdistill_quick

The rest of the environment (the ``tiny`` SynthSign preset, cheaper evaluation) is ordinary parameter files.

An environment with an ``env.yml`` stacks another folder of ``conf/`` between ``base`` and itself (Kedro merges
only base and one environment)::

    extends: paper                # conf/paper: the paper-scale parameters shared by every paper environment

so that ``conf/phoenix2014`` holds only what differs: its catalog and its ``globals.yml`` (``rules``, read by the
shared files as ``${globals:rules}``). Each folder is merged over the one before it as Kedro merges an environment
over base (whole top-level keys replaced).

Runtime parameters (``kedro run --params a.b.c=1``) are merged last, key by key, over the result: Kedro merges
them into base and into the environment separately, and then the environment's ``a`` (only ``{b: {c: 1}}`` when
the environment does not define ``a``) would replace base's whole ``a``.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kedro.config import MissingConfigException, OmegaConfigLoader
from omegaconf import OmegaConf

QUICK_PATTERNS = ["quick*", "quick*/**"]
ENV_PATTERNS = ["env.yml"]


class SignDistillConfigLoader(OmegaConfigLoader):
    """Kedro's loader with quick environments (``quick.yml``) and stacked folders (``env.yml``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["config_patterns"] = {"quick": QUICK_PATTERNS, "env": ENV_PATTERNS,
                                     **(kwargs.get("config_patterns") or {})}
        super().__init__(*args, **kwargs)

    def __getitem__(self, key: str) -> dict[str, Any]:
        with _quiet_resolvers():
            return self._get(key)

    def _get(self, key: str) -> dict[str, Any]:
        # OmegaConf's resolvers are process-wide and Kedro registers `globals` when a loader is built: the last
        # loader built would answer for every other one (conf/paper reads the environment's rules from it)
        self._register_globals_resolver()
        parents = self.extends() if key != "env" else []
        config = self._layered(key, parents) if parents and key not in self else super().__getitem__(key)
        if key not in ("parameters", "catalog", "mlflow"):
            return config
        quick = self.quick()
        if key == "parameters":
            config = merged(quick_epochs(config, quick.get("epochs"), quick.get("staged_epochs")),
                            self.runtime_params or {})
        if not quick:
            return config
        if key == "mlflow":
            return quick_mlflow(config, quick)
        return quick_paths(config, quick.get("data_root"))

    def _merge_and_resolve(self, key: str, config_per_file: dict) -> dict[str, Any]:
        """Kedro's merge of one folder's files, without the runtime parameters (``_get`` merges them last)."""
        if key != "parameters" or not config_per_file:
            return super()._merge_and_resolve(key, config_per_file)
        return OmegaConf.to_container(OmegaConf.unsafe_merge(*config_per_file.values()), resolve=True)

    def extends(self) -> list[str]:
        """The folders the environment's ``env.yml`` stacks between base and itself ([] without one)."""
        try:
            parents = dict(super().__getitem__("env")).get("extends") or []
        except MissingConfigException:
            return []
        parents = [parents] if isinstance(parents, str) else list(parents)
        for parent in parents:
            if not (Path(self.conf_source) / str(parent)).is_dir():
                raise MissingConfigException(f"{Path(self.conf_source) / (self.env or self.default_run_env)}/env.yml: "
                                             f"extends {parent!r}, but {Path(self.conf_source) / str(parent)} is "
                                             "not a folder")
        return [str(parent) for parent in parents]

    def _layered(self, key: str, parents: list[str]) -> dict[str, Any]:
        """``key`` merged over base, ``parents`` and the run environment, each folder as Kedro merges an env."""
        if key not in self.config_patterns:
            return super().__getitem__(key)  # Kedro's own error
        processed: set[Path] = set()
        config: dict[str, Any] = {}
        for layer in [self.base_env, *parents, self.env or self.default_run_env]:
            path = self._get_conf_env_path(layer)
            merged = self.load_and_merge_dir_config(path, self.config_patterns[key], key, processed,
                                                    read_environment_variables=key == "credentials")
            config = self._merge_configs(config, merged, key, path) if config else merged
        if not processed and key != "globals":
            raise MissingConfigException(f"No files matching {self.config_patterns[key]} for {key!r} in any of "
                                         f"{[self.base_env, *parents, self.env or self.default_run_env]}")
        return config

    def quick(self) -> dict[str, Any]:
        """The environment's ``quick.yml`` ({} in an ordinary environment)."""
        try:
            return dict(super().__getitem__("quick"))
        except MissingConfigException:
            return {}


def quick_epochs(config: Any, epochs: int | None, staged_epochs: int | None = None) -> Any:
    """``config`` with every ``train.epochs`` set to ``epochs`` (None: unchanged), and to ``staged_epochs`` for a
    run whose model trains in stages (``model.staged``, SMKD), so that each stage gets epochs of its own."""
    if epochs is None:
        return config
    if isinstance(config, dict):
        out = {k: quick_epochs(v, epochs, staged_epochs) for k, v in config.items()}
        train, model = out.get("train"), out.get("model")
        if isinstance(train, dict) and "epochs" in train:
            staged = staged_epochs and isinstance(model, dict) and model.get("staged")
            out["train"] = {**train, "epochs": int(staged_epochs if staged else epochs)}
        return out
    if isinstance(config, list):
        return [quick_epochs(v, epochs, staged_epochs) for v in config]
    return config


def quick_paths(config: Any, root: str | None) -> Any:
    """``config`` with its ``data/`` paths under ``root`` (None: unchanged)."""
    if isinstance(config, dict):
        return {k: quick_paths(v, root) for k, v in config.items()}
    if isinstance(config, list):
        return [quick_paths(v, root) for v in config]
    if root and isinstance(config, str) and config.startswith("data/"):
        return f"{str(root).rstrip('/')}/{config.removeprefix('data/')}"
    return config


def merged(config: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """``config`` with ``overrides`` merged key by key (a mapping into a mapping; anything else replaces)."""
    out = dict(config)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = value
    return out


def quick_mlflow(config: dict[str, Any], quick: dict[str, Any]) -> dict[str, Any]:
    """Quick runs in their own MLflow experiment of the same store, apart from the real ones."""
    name = quick.get("mlflow_experiment")
    if not name:
        return config
    tracking = dict(config.get("tracking", {}))
    tracking["experiment"] = {**tracking.get("experiment", {}), "name": name}
    return {**config, "tracking": tracking}


def load_parameters(env: str = "base", conf: Path = Path("conf")) -> dict[str, Any]:
    """The parameters of ``kedro run --env <env>``: ``conf/base`` merged with the environment by the project's
    loader (interpolations resolved, ``env.yml`` layers and quick environments applied). ``env="base"``: base alone.

    This module imports Kedro. Code that must also run where only torch and the core are installed (benchmarks
    on a GPU machine) imports it inside the function that reads ``conf/``, never at module level, so that given
    explicit options (a parameters file, paths) it runs without Kedro.
    """
    return loader(env, conf)["parameters"]


def data_root(env: str = "base", conf: Path = Path("conf")) -> Path:
    """Where ``env`` keeps its data: a quick environment's ``data_root``, else ``data``."""
    return Path(str(loader(env, conf).quick().get("data_root", "data")))


def loader(env: str = "base", conf: Path = Path("conf")) -> SignDistillConfigLoader:
    """The project's loader for ``conf`` and ``env`` as ``settings.py`` configures it."""
    if not (Path(conf) / env).is_dir():
        raise MissingConfigException(f"no configuration environment {env!r}: {Path(conf) / env} is not a folder")
    with _quiet_resolvers():
        return SignDistillConfigLoader(str(conf), env=env, base_env="base", default_run_env="local")


@contextmanager
def _quiet_resolvers() -> Iterator[None]:
    """Kedro registers its resolvers with an OmegaConf call that warns on every use (settings.py silences it for
    ``kedro run``; this is for code that loads configuration without Kedro's session)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"register_new_resolver\(\) is deprecated", category=UserWarning)
        yield
