"""``signdistill convert-model`` and ``signdistill register-best``: model files and the MLflow model registry.

Kept apart from ``console`` (which registers them) so that each stays short; heavy imports happen inside.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def convert_model(source: Annotated[Path, typer.Argument(metavar="OLD", hidden=True)],
                  out: Annotated[Path | None, typer.Option(metavar="PATH", help="Where to write it (default: OLD "
                                                                                "with .safetensors).")] = None) -> None:
    """Rewrite an older pickled model package (.pkl, .pt) as a package file (safetensors + JSON spec).

    Opening a pickle runs whatever code it carries: convert only a file you trust (one you trained).
    """
    from signdistill.models.package_file import SUFFIX, ModelFileError, convert_pickled_package

    target = out or source.with_suffix(SUFFIX)
    if not source.is_file():
        typer.echo(f"error: no model file at {source}", err=True)
        raise typer.Exit(2)
    try:
        package = convert_pickled_package(source, target)
    except (ModelFileError, EOFError, ValueError, AttributeError, ImportError) as err:
        typer.echo(f"error: {source} could not be converted ({err})", err=True)
        raise typer.Exit(2) from err
    typer.echo(f"{target}: {package['kind']} model, {len(package['state_dict'])} tensors")


def register_best(
        kedro_run: Annotated[str | None, typer.Option(metavar="RUN_ID", help="The kedro run's MLflow run (default: "
                                                                             "the newest).")] = None,
        metric: Annotated[str, typer.Option(metavar="NAME", help="Lowest wins; a decoder-named metric "
                                                                 "(final_dev_wer_beam10) is found by its stem.")
                          ] = "final_dev_wer",
        name: Annotated[str | None, typer.Option(metavar="NAME", help="Registered model name (default: "
                                                                      "signdistill_<pipeline>).")] = None,
        tracking_uri: Annotated[str, typer.Option(metavar="URI", help="MLflow tracking URI.")] = "sqlite:///mlflow.db",
        experiment: Annotated[str, typer.Option(metavar="NAME", help="MLflow experiment.")] = "signdistill") -> None:
    """Register the best recogniser of a `kedro run` (its lowest METRIC) in the MLflow model registry."""
    import mlflow
    from mlflow import MlflowClient

    from signdistill.pipelines.mlflow_model import latest_pipeline_run
    from signdistill.pipelines.mlflow_model import register_best as register

    mlflow.set_tracking_uri(tracking_uri)
    client = MlflowClient()
    try:
        done = register(client, kedro_run or latest_pipeline_run(client, experiment), metric, name)
    except LookupError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from err
    typer.echo(f"registered {done['name']} version {done['version']}: runs:/{done['run_id']}/model "
               f"({done['run']}, {done['metric']} {done['value']:.2f}, best of {done['candidates']})")
