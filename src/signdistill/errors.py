"""Bad input a user can fix: the message names the file and the problem, and is all they need to see.

``signdistill`` commands and ``kedro run`` (``signdistill.cli``) answer these with that one message; the full
traceback is for ``--verbose`` and the log file. Both subclass the built-in errors that callers catch. Also the
checks of a parameters section against the dataclass it configures (``check_section``, ``check_types``,
``reject_unknown``).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any


class InputError(ValueError):
    """Input that exists but cannot be used (no known layout, every sample rejected, ...)."""


class MissingInputError(InputError, FileNotFoundError):
    """Input that is not where the configuration says."""


def check_section(section: str, spec: type, params: Mapping[str, Any], other_keys: Iterable[str] = (),
                  ) -> dict[str, Any]:
    """The values of ``params`` (the parameters section ``section``) that are fields of the dataclass ``spec``,
    checked: an unknown key (a typo), a missing required field or a value of the wrong type is an ``InputError``
    naming the section and the key. ``other_keys`` belong to the section but are read elsewhere."""
    names = {f.name for f in dataclasses.fields(spec)}
    reject_unknown(params, names | set(other_keys), f"parameters {section}: unknown key(s) {{unknown}}; "
                   "it takes {known}", InputError)
    required = {f.name for f in dataclasses.fields(spec)
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
    if missing := sorted(required - set(params)):
        raise InputError(f"parameters {section}: missing {missing}")
    values = {k: v for k, v in params.items() if k in names}
    try:
        check_types(spec, values, f"{section}.")
    except ValueError as error:
        raise InputError(f"parameters {error}") from error
    return values


def reject_unknown(keys: Iterable[str], known: Iterable[str], message: str,
                   error: type[Exception] = ValueError) -> None:
    """``error(message)`` when ``keys`` holds a key not in ``known`` (a typo that would otherwise be ignored);
    ``message`` may name ``{unknown}`` and ``{known}``, both sorted lists."""
    known = set(known)
    if unknown := sorted(set(keys) - known):
        raise error(message.format(unknown=unknown, known=sorted(known)))


def check_types(spec: type, values: dict[str, Any], prefix: str) -> None:
    """A ValueError naming the first of ``values`` whose type is not that of ``spec``'s field of its name
    (``prefix`` + key: ``train.epochs``), so that ``epochs=abc`` fails where the run starts, not hours later."""
    hints = typing.get_type_hints(spec)
    for key, value in values.items():
        if key in hints and not _is_a(value, hints[key]):
            raise ValueError(f"{prefix}{key} must be {_type_name(hints[key])}, got {value!r}")


def _is_a(value: Any, kind: Any) -> bool:
    """Whether ``value``, as YAML or ``--params`` gives it, is a ``kind`` (an int is a float, a list a tuple)."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (types.UnionType, typing.Union):
        return any(_is_a(value, arg) for arg in args)
    if kind is type(None):
        return value is None
    if kind is bool:
        return isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if origin in (list, tuple):
        if not isinstance(value, list | tuple):
            return False
        if origin is tuple and args and args[-1] is not Ellipsis:  # a fixed length
            return len(value) == len(args) and all(_is_a(v, a) for v, a in zip(value, args, strict=True))
        return all(_is_a(v, args[0]) for v in value) if args else True
    if origin is dict:
        return isinstance(value, dict) and all(_is_a(v, args[1]) for v in value.values())
    return isinstance(value, origin or kind)


def _type_name(kind: Any) -> str:
    names = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}
    if kind in names:
        return names[kind]
    args = [a for a in typing.get_args(kind) if a is not type(None)]
    if typing.get_origin(kind) in (types.UnionType, typing.Union):
        return " or ".join([*map(_type_name, args), "null"] if len(args) < len(typing.get_args(kind)) else
                           map(_type_name, args))
    if typing.get_origin(kind) is tuple and args and args[-1] is not Ellipsis:
        return f"a list of {len(args)} {_type_name(args[0]).removeprefix('an ').removeprefix('a ')}s"
    if typing.get_origin(kind) in (list, tuple):
        return f"a list of {_type_name(args[0]).removeprefix('an ').removeprefix('a ')}s" if args else "a list"
    if typing.get_origin(kind) is dict:
        return f"a mapping of names to {_type_name(args[1]).removeprefix('an ').removeprefix('a ')}s"
    return getattr(kind, "__name__", str(kind))
