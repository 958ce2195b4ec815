"""Kedro project settings: OmegaConf configuration with ``base`` + ``local`` (or an ``--env``)."""

from kedro.config import OmegaConfigLoader

from signdistill.hooks import HOOKS  # noqa: F401 - Kedro reads it from here

CONFIG_LOADER_CLASS = OmegaConfigLoader
CONFIG_LOADER_ARGS = {"base_env": "base", "default_run_env": "local"}
