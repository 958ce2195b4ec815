"""``kedro run`` for this project: Kedro's own command, answering known bad input with one line.

A run that stops on bad input the user can fix (``signdistill.errors``: a corpus path missing or empty, no
known layout, every sample rejected; an unknown pipeline name; a missing configuration file) prints one
message naming the file and the problem; the full traceback goes to ``logs/kedro_run_error.log``, and to the
terminal with ``--verbose``. Any other error (a bug) keeps Kedro's full traceback.
"""

from __future__ import annotations

import difflib
import logging
import sys
import traceback
from importlib import resources
from pathlib import Path

import click
from kedro.config import MissingConfigException
from kedro.framework.cli.project import run as kedro_run

from signdistill.errors import InputError

ERROR_LOG = Path("logs/kedro_run_error.log")
log = logging.getLogger(__name__)


@click.group(name="signdistill")
def cli() -> None:
    """SignDistill's project commands (Kedro's, with ``run`` answering bad input with one line)."""


def known_problem(error: BaseException) -> BaseException | None:
    """The bad input behind ``error``, following Kedro's wrapping (``DatasetError ... from`` the cause)."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, InputError | MissingConfigException):
            return error
        error = error.__cause__ or error.__context__
    return None


def unknown_pipelines(names: tuple[str, ...]) -> str | None:
    """A message for pipeline names the project does not register (with the closest ones), or None."""
    if not names:
        return None
    known = registered_pipelines()
    missing = [name for name in names if name not in known]
    if not missing:
        return None
    hints = [f"{name!r} (did you mean {', '.join(difflib.get_close_matches(name, known)) or 'none close'}?)"
             for name in missing]
    choices = ", ".join(k for k in known if k != "__default__")
    return f"unknown pipeline {', '.join(hints)}; the pipelines are: {choices}"


def registered_pipelines() -> list[str]:
    """What ``find_pipelines`` registers (a package with a ``pipeline`` module per pipeline), read from the
    package folders rather than by building every pipeline."""
    folder = resources.files("signdistill.pipelines")
    return sorted(["__default__", *(item.name for item in folder.iterdir()
                                    if item.is_dir() and (item / "pipeline.py").is_file())])


def _run(verbose: bool, **kwargs) -> None:
    names = tuple(kwargs.get("pipelines") or ()) + ((kwargs["pipeline"],) if kwargs.get("pipeline") else ())
    message = unknown_pipelines(names)
    if message:
        raise click.ClickException(message)
    try:
        kedro_run.callback(**kwargs)
    except Exception as error:
        problem = known_problem(error)
        if problem is None or verbose:
            raise
        ERROR_LOG.parent.mkdir(exist_ok=True)
        ERROR_LOG.write_text("".join(traceback.format_exception(error)))
        click.secho(f"Error: {problem}", fg="red", err=True)
        click.echo(f"(full traceback: {ERROR_LOG}, or run again with --verbose)", err=True)
        sys.exit(1)


run = click.Command(
    name="run", callback=_run, help=kedro_run.help, short_help=kedro_run.short_help,
    params=[*kedro_run.params, click.Option(["--verbose"], is_flag=True, default=False,
                                            help="On bad input, print the full traceback too.")])
cli.add_command(run)
