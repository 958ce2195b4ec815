"""Kedro project settings: OmegaConf configuration with ``base`` + ``local`` (or an ``--env``; ``quick``: see
``signdistill.config``), and the hooks that give every trained recogniser its MLflow run."""

from signdistill.config import SignDistillConfigLoader
from signdistill.hooks import HOOKS  # noqa: F401 - Kedro reads it from here

CONFIG_LOADER_CLASS = SignDistillConfigLoader
CONFIG_LOADER_ARGS = {"base_env": "base", "default_run_env": "local"}
