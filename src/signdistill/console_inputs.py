"""The ``signdistill`` command's checks of its inputs: bad input stops a command with one line, ``error: ...``
naming the file or option and the problem, and exit status 2 (``fail``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import NoReturn

import click
import typer
from typer._click.exceptions import NoArgsIsHelpError, UsageError  # typer's own click, whose errors it raises
from typer.core import TyperGroup

# OpenCV and its FFmpeg print their own lines for a file they cannot read ("moov atom not found"); the command
# says what is wrong in its one line instead (read when cv2 is first imported).
os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")


class OneLineErrors(TyperGroup):
    """A misused option or argument of any subcommand (``--fps 0``, an unknown command) gets one line, as bad
    input does, rather than the usage block and a hint."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except NoArgsIsHelpError:
            raise
        except UsageError as err:
            fail(err.format_message(), err)


def fail(message: str, cause: BaseException | None = None) -> NoReturn:
    """Stop a command on bad input: ``error: <message>`` on stderr, exit status 2."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2) from cause


def file_problem(path: Path, text: bool = False) -> str | None:
    """What keeps ``path`` from being read as an input file (missing, a folder, empty, with ``text`` not UTF-8
    text), or None."""
    if not path.exists():
        return f"{path}: no such file"
    if path.is_dir():
        return f"{path} is a folder, not a file"
    if path.stat().st_size == 0:
        return f"{path} is empty"
    if text:
        try:
            path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            return f"{path} is not a UTF-8 text file"
    return None


def output_problem(path: Path) -> str | None:
    """What keeps ``path`` from being written as an output file (a folder there), or None."""
    return f"{path} is a folder; give a file name" if path.is_dir() else None


def device_problem(name: str) -> str | None:
    """What is wrong with a torch device name (unknown, or CUDA on a machine without it), or None."""
    import torch

    try:
        device = torch.device(name)
    except RuntimeError:
        return f"unknown device {name!r} (cpu | cuda | cuda:N)"
    if device.type == "cuda" and not torch.cuda.is_available():
        return f"device {name!r}: CUDA is not available here (torch.cuda.is_available() is false)"
    return None


def positive(value: float) -> float:
    """An option callback: ``value`` if it is > 0, else the option's one-line error."""
    if value <= 0:
        raise typer.BadParameter(f"must be > 0, got {value:g}")
    return value


def load_model(path: Path):
    """The network, data view and vocabulary of the model package at ``path``; anything that cannot be read as
    one (another kind of file, truncated, a folder) stops the command with one line naming it."""
    from signdistill.decoding.video import packaged_model
    from signdistill.models.registry import read_package

    problem = file_problem(path)
    if problem:
        fail(problem)
    try:
        return packaged_model(read_package(path))
    except Exception as err:  # noqa: BLE001 - whatever a foreign file makes the reader raise, it is not a model
        fail(f"{path} is not a model package ({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''})",
             err)


def features_for(view: dict, config: Path, model: Path, env: str | None = None):
    """The FeatureConfig for a model that reads flow or keypoints (None for an RGB model), from the file
    ``config`` or the configuration environment ``env``."""
    streams = view.get("streams") or []
    if not streams:
        return None
    from signdistill.data.features import FeatureConfig

    if env is not None:
        from kedro.config import MissingConfigException

        from signdistill.config import load_parameters

        try:
            return FeatureConfig.from_params(load_parameters(env)["features"])
        except MissingConfigException as err:
            raise ValueError(str(err)) from err
    if not config.is_file():
        raise FileNotFoundError(f"{model} reads {' and '.join(streams)}, computed here with the features settings "
                                f"it was trained with: {config} not found (give --features-config)")
    import yaml

    params = (yaml.safe_load(config.read_text()) or {}).get("features")
    if not isinstance(params, dict):
        raise ValueError(f"{config} has no `features:` section")
    return FeatureConfig.from_params(params)
