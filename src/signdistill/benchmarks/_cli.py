"""The one CLI library of the benchmarks: each module exposes a typer ``app`` that ``python -m
signdistill.benchmarks.<module>`` runs and ``signdistill bench <module>`` mounts (``signdistill.console``).

Options that take several values keep argparse's spelling (``--seeds 0 1 2``, ``--set a=1 b=2``): click takes
them repeated (``--seeds 0 --seeds 1``), and ``MultiValueCommand`` turns the first form into the second.
"""

from __future__ import annotations

import json

import typer
from typer.core import TyperCommand

JSON_HELP = "Print the result as JSON."


def print_payload(payload: dict, as_json: bool) -> None:
    """A command's result: JSON with ``--json``, else one ``key: value`` line per entry."""
    if as_json:
        typer.echo(json.dumps(payload, indent=1, default=str))
        return
    for key, value in payload.items():
        typer.echo(f"{key}: {json.dumps(value, default=str) if isinstance(value, dict | list) else value}")


def benchmark_app(doc: str | None) -> typer.Typer:
    """A typer app for one benchmark module (``doc``: its docstring), with plain help (no rich panels, no
    completion options)."""
    return typer.Typer(help=summary(doc), add_completion=False, rich_markup_mode=None,
                       pretty_exceptions_enable=False)


def summary(doc: str | None) -> str:
    """A module docstring's first paragraph, unwrapped: its command's help (the rest is for readers of the code)."""
    return " ".join((doc or "").strip().split("\n\n")[0].split())


def expand_multi_values(args: list[str], names: set[str]) -> list[str]:
    """``--opt a b c`` -> ``--opt a --opt b --opt c`` for the options ``names`` (values: the tokens up to the next
    one starting with ``-`` that is not a negative number)."""
    out: list[str] = []
    i = 0
    while i < len(args):
        name, sep, value = args[i].partition("=")
        if name not in names:
            out.append(args[i])
            i += 1
            continue
        values = [value] if sep else []
        i += 1
        while i < len(args) and not sep and (not args[i].startswith("-") or _is_number(args[i])):
            values.append(args[i])
            i += 1
        out += [item for v in values for item in (name, v)]
    return out


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


class MultiValueCommand(TyperCommand):
    """A command whose repeatable options also take several values after one flag, as argparse's ``nargs``."""

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:
        # typer vendors its own click: options are told by their kind, not by click.Option
        names = {opt for p in self.params if p.param_type_name == "option" and p.multiple for opt in p.opts}
        return super().parse_args(ctx, expand_multi_values(list(args), names))
