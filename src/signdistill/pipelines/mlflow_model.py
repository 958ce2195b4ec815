"""A trained recogniser as an MLflow pyfunc model: RGB frames in, glosses with their time spans out.

The model is logged *from code* (MLflow's models-from-code): the MLflow model holds this project's
``pyfunc_code.py`` (which names :class:`GlossRecognizer`) and the model package file (safetensors weights +
JSON spec, ``models.package_file``), so loading or serving it reads tensors and JSON and unpickles nothing.
``mlflow models serve -m runs:/<run id>/model --env-manager local`` answers

    POST /invocations  {"inputs": <uint8 frames [T, H, W, 3]>, "params": {"fps": 25, "decoder": "beam"}}

with ``{"predictions": [{"gloss", "start_s", "end_s", "spike_s"}, ...]}`` (``decoding.spans``). A model that
reads flow and keypoints (a SignKD teacher) carries the features parameters it was trained with as its
``model_config``. ``register_best`` (``signdistill register-best``) registers the best recogniser of a
``kedro run`` in the model registry.
"""

from __future__ import annotations

import logging
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from mlflow.models import Model, ModelSignature
from mlflow.pyfunc import PythonModel
from mlflow.types import ColSpec, ParamSchema, ParamSpec, Schema, TensorSpec

from signdistill.models.package_file import read_package, write_package

ARTIFACT = "model"  # runs:/<id>/model
PACKAGE = "package"
CODE = Path(__file__).with_name("pyfunc_code.py")
# warns on every model logged where pip is not installed (uv environments); the conda.yaml lists pip unpinned
PIP_LOGGER = "mlflow.utils.environment"
SPAN_COLUMNS = ("gloss", "start_s", "end_s", "spike_s")

SIGNATURE = ModelSignature(
    inputs=Schema([TensorSpec(np.dtype(np.uint8), (-1, -1, -1, 3))]),  # frames [T, H, W, RGB]
    outputs=Schema([ColSpec("string", "gloss"), ColSpec("double", "start_s"), ColSpec("double", "end_s"),
                    ColSpec("double", "spike_s")]),
    params=ParamSchema([ParamSpec("fps", "double", 25.0), ParamSpec("decoder", "string", "beam"),
                        ParamSpec("beam_width", "long", 10)]),
)


class GlossRecognizer(PythonModel):
    """One video's RGB frames (uint8 ``[T, H, W, 3]``, source resolution) -> a table of glosses and spans."""

    def load_context(self, context: Any) -> None:
        from signdistill.data.features import FeatureConfig
        from signdistill.decoding.video import packaged_model

        self.network, self.view, self.vocabulary = packaged_model(read_package(context.artifacts[PACKAGE]))
        features = (context.model_config or {}).get("features")
        self.features = FeatureConfig.from_params(features) if features else None

    def predict(self, context: Any, model_input: np.ndarray, params: dict[str, Any] | None = None) -> pd.DataFrame:
        from signdistill.decoding.spans import recognise_spans

        params = {"fps": 25.0, "decoder": "beam", "beam_width": 10, **(params or {})}
        frames = np.ascontiguousarray(np.asarray(model_input, dtype=np.uint8))
        if frames.ndim != 4 or frames.shape[-1] != 3:
            raise ValueError(f"frames must be uint8 [T, H, W, 3], got shape {list(frames.shape)}")
        spans = recognise_spans(self.network, frames, self.view, self.vocabulary, float(params["fps"]),
                                self.features, str(params["decoder"]), int(params["beam_width"]))
        return pd.DataFrame([span.as_dict() for span in spans], columns=list(SPAN_COLUMNS))


def log_recognizer(run_id: str, package: dict, features: dict | None = None) -> str:
    """Log ``package`` as the pyfunc model ``runs:/<run_id>/model`` (by id: the run need not be the active one,
    and the model goes to the run's experiment); ``features``: the features parameters, for a model that reads
    flow or keypoints. Returns the model URI."""
    client = MlflowClient()
    experiment_id = client.get_run(run_id).info.experiment_id
    logged = client.create_logged_model(experiment_id, name=ARTIFACT, source_run_id=run_id,
                                        tags={"kind": str(package["kind"])})
    config = {"features": features} if features and package["data"].get("streams") else None
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings(), _quiet(PIP_LOGGER):
        warnings.filterwarnings("ignore", message=".*input example was not provided", category=UserWarning)
        path = Path(tmp) / "recognizer.safetensors"
        write_package(package, path)
        Model.log(artifact_path=None, name=ARTIFACT, flavor=mlflow.pyfunc, flavor_name="pyfunc.ModelFromCode",
                  run_id=run_id, model_id=logged.model_id, python_model=str(CODE), artifacts={PACKAGE: str(path)},
                  signature=SIGNATURE, model_config=config, pip_requirements=[_requirement()])
    return f"runs:/{run_id}/{ARTIFACT}"


@contextmanager
def _quiet(name: str) -> Iterator[None]:
    """Only errors from logger ``name`` meanwhile."""
    logger = logging.getLogger(name)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _requirement() -> str:
    """What a served model's environment needs: this project, whose own dependencies follow."""
    from importlib.metadata import version

    return f"signdistill=={version('signdistill')}"


RUNS_ARTIFACT = "recognizer_runs.json"  # on a kedro run's MLflow run: {run namespace: child run id}


def latest_pipeline_run(client: MlflowClient, experiment: str) -> str:
    """The newest ``kedro run``'s MLflow run in ``experiment`` (the runs that carry a ``kedro_command``)."""
    found = client.get_experiment_by_name(experiment)
    runs = client.search_runs([found.experiment_id], "tags.kedro_command LIKE 'kedro run%'",
                              order_by=["attributes.start_time DESC"], max_results=1) if found else []
    if not runs:
        raise LookupError(f"no kedro run in MLflow experiment {experiment!r} at {client.tracking_uri}")
    return runs[0].info.run_id


def pipeline_children(client: MlflowClient, parent_id: str) -> list[Any]:
    """The recogniser runs a ``kedro run`` created or continued (its ``recognizer_runs.json``), or, for a run that
    recorded none, those nested under it."""
    parent = client.get_run(parent_id)
    try:
        ids = set(mlflow.artifacts.load_dict(f"{parent.info.artifact_uri}/{RUNS_ARTIFACT}").values())
    except Exception:  # noqa: BLE001 - MLflow raises several types for a missing artifact
        ids = set()
    nested = client.search_runs([parent.info.experiment_id], f"tags.`mlflow.parentRunId` = '{parent_id}'",
                                max_results=1000)
    return [client.get_run(run_id) for run_id in sorted(ids)] + [r for r in nested if r.info.run_id not in ids]


def run_metric(run: Any, metric: str) -> float | None:
    """``metric`` of ``run``, or its decoder-named form (``final_dev_wer`` -> ``final_dev_wer_beam10``)."""
    metrics = run.data.metrics
    if metric in metrics:
        return metrics[metric]
    named = [key for key in metrics if key.startswith(f"{metric}_")]
    return metrics[named[0]] if len(named) == 1 else None


def register_best(client: MlflowClient, parent_id: str, metric: str, name: str | None = None) -> dict:
    """Register the model of the lowest-``metric`` recogniser run of the ``kedro run`` ``parent_id`` as a new
    version of ``name`` (default: ``signdistill_<pipeline>``); returns what was registered."""
    scored = [(value, run) for run in pipeline_children(client, parent_id)
              if (value := run_metric(run, metric)) is not None and run.outputs and run.outputs.model_outputs]
    if not scored:
        raise LookupError(f"no recogniser run of kedro run {parent_id} has both a model and a metric {metric!r}")
    value, best = min(scored, key=lambda pair: pair[0])
    name = name or f"signdistill_{client.get_run(parent_id).info.run_name}"
    model_id = best.outputs.model_outputs[-1].model_id  # the newest model logged to the run (runs:/<id>/model)
    version = mlflow.register_model(f"models:/{model_id}", name,
                                    tags={"run": best.info.run_name, metric: str(value), "kedro_run": parent_id})
    return {"name": name, "version": version.version, "run": best.info.run_name, "run_id": best.info.run_id,
            "metric": metric, "value": value, "candidates": len(scored)}
