"""``signdistill --help`` and every command's help: each option described, no <type> tags, models listed."""

from __future__ import annotations

import re

import click
import typer
from typer.testing import CliRunner

from signdistill.console import app, model_names

TYPE_TAG = re.compile(r"<(bool|str|int|float|path|text|integer)>", re.IGNORECASE)


def _commands(command: click.Command, path: tuple[str, ...] = ()):
    """Every command under ``command``, those of groups that load theirs lazily (``bench``) included."""
    yield path, command
    if hasattr(command, "list_commands"):  # typer vendors click: a group is told by what it does
        for name in command.list_commands(None):
            yield from _commands(command.get_command(None, name), (*path, name))


def test_every_option_is_described_without_type_tags() -> None:
    runner = CliRunner()
    commands = list(_commands(typer.main.get_command(app)))
    assert len(commands) > 10
    for path, command in commands:
        undescribed = [p.name for p in command.params
                       if p.param_type_name == "option" and not p.hidden and not p.help]
        assert not undescribed, (path, undescribed)
        result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "120"})
        assert result.exit_code == 0, result.output
        assert not TYPE_TAG.search(result.output), (path, result.output)


def test_profile_lists_its_models() -> None:
    result = CliRunner().invoke(app, ["profile", "--help"], env={"COLUMNS": "200"})
    names = model_names()
    assert {"baseline", "smkd", "ctca", "lrinet", "signkd_student"} <= set(names)
    assert all(name in result.output for name in names)
