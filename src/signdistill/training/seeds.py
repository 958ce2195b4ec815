"""Names of one seed of a run (``seeds_<method>`` pipelines): plain strings, importable without torch, so that
the hooks and the pipelines' wiring read them before any node runs."""

from __future__ import annotations

import re


def seed_run_name(run: str, seed: int) -> str:
    """``smkd``, 3 -> ``smkd_seed3``: the namespace, model file and checkpoint folder of one seed of a run."""
    return f"{run}_seed{int(seed)}"


def split_seed_run(name: str) -> tuple[str, int | None]:
    """``smkd_seed3`` -> (``smkd``, 3); a name without a seed suffix -> (name, None)."""
    match = re.fullmatch(r"(.+)_seed(\d+)", name)
    return (match.group(1), int(match.group(2))) if match else (name, None)
