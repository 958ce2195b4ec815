"""The package's shape (docs/architecture.md): no import cycle, the layers of pyproject's import-linter
contracts, and no source file past the size limit.

The graph is grimp's (what import-linter checks): every ``import`` statement counts, also one inside a function,
because a lazy import only hides a cycle from the interpreter, not from a reader."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "signdistill"
SOURCE = ROOT / "src" / "signdistill"
MAX_LINES = 400  # the size past which a source file is split by concept


def import_graph(package: str = PACKAGE) -> dict[str, set[str]]:
    """``{module: modules of the package it imports}`` over every module of ``package``."""
    graph = grimp.build_graph(package)
    return {module: {imported for imported in graph.find_modules_directly_imported_by(module)
                     if imported == package or imported.startswith(package + ".")}
            for module in graph.modules}


def _strongly_connected(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components (iterative: no recursion limit), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    components.append(sorted(component))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph.get(child, ())))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return components


def _shortest_path(source: str, target: str, graph: Mapping[str, Iterable[str]], members: set[str]) -> list[str]:
    """A shortest import path ``[source, ..., target]`` within ``members`` (breadth first), [] if none."""
    parents = {source: source}
    frontier = [source]
    while frontier and target not in parents:
        following = []
        for node in frontier:
            for child in sorted(graph.get(node, ())):
                if child in members and child not in parents:
                    parents[child] = node
                    following.append(child)
        frontier = following
    if target not in parents:
        return []
    path = [target]
    while path[-1] != source:
        path.append(parents[path[-1]])
    return path[::-1]


def _rotated(cycle: list[str]) -> tuple[str, ...]:
    """``[a, ..., a]`` started at its smallest module, so that one cycle found twice compares equal."""
    ring = cycle[:-1]
    start = ring.index(min(ring))
    return tuple(ring[start:] + ring[:start] + [ring[start]])


def import_cycles(graph: Mapping[str, Iterable[str]] | None = None) -> list[list[str]]:
    """The import cycles (``[a, b, ..., a]``) of the graph: for every import that lies on a cycle, the
    shortest cycle through it, each cycle once. Empty when the graph has none. Default: ``import_graph()``."""
    graph = import_graph() if graph is None else graph
    cycles: set[tuple[str, ...]] = set()
    for component in _strongly_connected(graph):
        members = set(component)
        for importer in component:
            for imported in sorted(set(graph.get(importer, ())) & members):
                back = [importer] if imported == importer else _shortest_path(imported, importer, graph, members)
                cycles.add(_rotated([importer, *back]))
    return [list(cycle) for cycle in sorted(cycles, key=lambda c: (len(c), c))]


def largest_files(root: Path = SOURCE, count: int = 10) -> list[tuple[int, str]]:
    """The ``count`` longest ``.py`` files under ``root`` as ``(lines, path relative to root's parent)``."""
    sizes = [(len(path.read_text().splitlines()), str(path.relative_to(root.parent)))
             for path in root.rglob("*.py")]
    return sorted(sizes, key=lambda size: (-size[0], size[1]))[:count]


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
