"""Kedro project settings: OmegaConf configuration with ``base`` + ``local`` (or an ``--env``; ``quick``: see
``signdistill.config``), and the hooks that give every trained recogniser its MLflow run."""

import importlib
import warnings

# Third-party notices printed on every run that a user cannot act on (dotted dataset names are Kedro's own
# namespaces here); they would bury the one line that a run stopped by bad input prints.
for _message in (r"register_new_resolver\(\) is deprecated", r"One or more dataset names contain '\.'"):
    warnings.filterwarnings("ignore", message=_message, category=UserWarning)


def _import_quietly(module: str) -> None:
    """Import ``module`` with warnings shown nowhere. MLflow advises type hints on a PythonModel's ``predict`` when
    the class is defined (kedro-mlflow's has none; this project's has them), under its own
    ``simplefilter("once")``, which outranks any filter, but not where a warning is shown."""
    shown = warnings.showwarning
    warnings.showwarning = lambda *args, **kwargs: None
    try:
        importlib.import_module(module)
    finally:
        warnings.showwarning = shown


_import_quietly("kedro_mlflow.mlflow")  # its KedroPipelineModel, loaded with kedro-mlflow's commands

from signdistill.config import SignDistillConfigLoader  # noqa: E402
from signdistill.hooks import HOOKS  # noqa: E402, F401 - Kedro reads it from here

CONFIG_LOADER_CLASS = SignDistillConfigLoader
CONFIG_LOADER_ARGS = {"base_env": "base", "default_run_env": "local"}
