"""The project's config loader: Kedro's ``OmegaConfigLoader`` plus quick environments.

An environment with a ``quick.yml`` (``conf/quick``) trains every run of any pipeline for a few epochs and keeps
everything it writes under its own data root, so that trying a pipeline never touches the default corpus'
data, models or checkpoints::

    data_root: data/quick         # every "data/..." path of the catalog and the parameters moves here
    epochs: 1                     # every run's train.epochs
    mlflow_experiment: signdistill_quick

The rest of the environment (the ``tiny`` SynthSign preset, cheaper evaluation) is ordinary parameter files.
"""

from __future__ import annotations

from typing import Any

from kedro.config import MissingConfigException, OmegaConfigLoader

QUICK_PATTERNS = ["quick*", "quick*/**"]


class SignDistillConfigLoader(OmegaConfigLoader):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["config_patterns"] = {"quick": QUICK_PATTERNS, **(kwargs.get("config_patterns") or {})}
        super().__init__(*args, **kwargs)

    def __getitem__(self, key: str) -> dict[str, Any]:
        config = super().__getitem__(key)
        if key not in ("parameters", "catalog", "mlflow"):
            return config
        quick = self.quick()
        if not quick:
            return config
        if key == "mlflow":
            return quick_mlflow(config, quick)
        return quick_config(config, quick, parameters=key == "parameters")

    def quick(self) -> dict[str, Any]:
        """The environment's ``quick.yml`` ({} in an ordinary environment)."""
        try:
            return dict(super().__getitem__("quick"))
        except MissingConfigException:
            return {}


def quick_config(config: Any, quick: dict[str, Any], parameters: bool) -> Any:
    """``config`` with its ``data/`` paths under ``quick["data_root"]`` and, in the parameters, every
    ``train.epochs`` set to ``quick["epochs"]``."""
    if isinstance(config, dict):
        out = {k: quick_config(v, quick, parameters) for k, v in config.items()}
        train = out.get("train")
        if parameters and "epochs" in quick and isinstance(train, dict) and "epochs" in train:
            out["train"] = {**train, "epochs": int(quick["epochs"])}
        return out
    if isinstance(config, list):
        return [quick_config(v, quick, parameters) for v in config]
    root = quick.get("data_root")
    if root and isinstance(config, str) and config.startswith("data/"):
        return f"{str(root).rstrip('/')}/{config.removeprefix('data/')}"
    return config


def quick_mlflow(config: dict[str, Any], quick: dict[str, Any]) -> dict[str, Any]:
    """Quick runs in their own MLflow experiment of the same store, apart from the real ones."""
    name = quick.get("mlflow_experiment")
    if not name:
        return config
    tracking = dict(config.get("tracking", {}))
    tracking["experiment"] = {**tracking.get("experiment", {}), "name": name}
    return {**config, "tracking": tracking}
