"""The package's shape (docs/architecture.md): no import cycle, the layers of pyproject's import-linter
contracts, and no source file past the size limit."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from signdistill.benchmarks.architecture import MAX_LINES, import_cycles, import_graph, largest_files

ROOT = Path(__file__).resolve().parents[1]


def test_no_import_cycle() -> None:
    cycles = import_cycles()
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(cycle) for cycle in cycles)


def test_cycle_finder_reports_every_cycle() -> None:
    """Each import that lies on a cycle shows in one: a self-import, a pair, and two cycles sharing a module."""
    graph = {"a": {"a"}, "b": {"c"}, "c": {"b", "d"}, "d": {"b", "e"}, "e": set()}
    assert import_cycles(graph) == [["a", "a"], ["b", "c", "b"], ["b", "c", "d", "b"]]
    assert import_cycles({"x": {"y"}, "y": {"z"}, "z": set()}) == []


def test_graph_holds_lazy_imports() -> None:
    """An import inside a function is an edge too: a lazy import hides a cycle from the interpreter only."""
    assert "signdistill.models.registry" in import_graph()["signdistill.console"]  # imported inside commands


def test_import_linter_contracts() -> None:
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint, "lint-imports is not installed (uv sync --group dev)"
    result = subprocess.run([lint, "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_no_source_file_over_the_limit() -> None:
    over = [(size, path) for size, path in largest_files(count=5) if size > MAX_LINES]
    assert not over, f"split these files (over {MAX_LINES} lines): {over}"
