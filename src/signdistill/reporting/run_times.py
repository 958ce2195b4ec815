"""Where a ``kedro run``'s wall time went: each node's start and seconds, and the time outside every node (loading
and saving datasets, Kedro and MLflow themselves), as a record, log lines and a timeline chart.

A record is a dict: ``pipeline``, ``command``, ``started`` (ISO time), ``wall_s``, ``status`` and ``nodes`` (one
dict per node: ``node``, ``start_s`` from the run's start, ``seconds``, ``status``), in the order the nodes ended.
"""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.figure import Figure

SHOWN_SHARE = 0.01  # the chart draws a node of its own from this share of the wall time; the rest share one row


def node_seconds(record: dict) -> float:
    return sum(n["seconds"] for n in record["nodes"])


def outside_seconds(record: dict) -> float:
    """Wall time in no node (datasets loaded and saved, hooks): 0 when nodes overlapped (a parallel runner)."""
    return max(0.0, record["wall_s"] - node_seconds(record))


def summary_lines(record: dict, most: int = 8) -> list[str]:
    """The longest ``most`` nodes and the time outside nodes, in minutes and shares of the wall time."""
    wall = max(record["wall_s"], 1e-9)
    lines = [f"{record['pipeline']}: {record['wall_s'] / 60:.1f} min wall ({record['status']}), "
             f"{len(record['nodes'])} nodes"]
    longest = sorted(record["nodes"], key=lambda n: -n["seconds"])[:most]
    for node in longest:
        lines.append(f"  {node['node']:<40} {node['seconds'] / 60:7.1f} min {100 * node['seconds'] / wall:5.1f}%")
    rest = node_seconds(record) - sum(n["seconds"] for n in longest)
    if len(record["nodes"]) > most:
        others = f"{len(record['nodes']) - most} other nodes"
        lines.append(f"  {others:<40} {rest / 60:7.1f} min {100 * rest / wall:5.1f}%")
    outside = outside_seconds(record)
    lines.append(f"  {'outside nodes (datasets, hooks)':<40} {outside / 60:7.1f} min {100 * outside / wall:5.1f}%")
    return lines


def _rows(nodes: Sequence[dict], wall: float) -> list[tuple[str, list[tuple[float, float]]]]:
    """One row per node of at least ``SHOWN_SHARE`` of the wall time in start order, then one for the others."""
    shown = [n for n in nodes if n["seconds"] >= SHOWN_SHARE * wall]
    others = [n for n in nodes if n["seconds"] < SHOWN_SHARE * wall]
    rows = [(n["node"], [(n["start_s"], n["seconds"])]) for n in sorted(shown, key=lambda n: n["start_s"])]
    if others:
        minutes = sum(n["seconds"] for n in others) / 60
        spans = [(n["start_s"], n["seconds"]) for n in others]
        rows.append((f"{len(others)} shorter nodes ({minutes:.1f} min)", spans))
    return rows


def timeline_figure(record: dict) -> Figure:
    """Each node as a bar from its start to its end, minutes on x, labelled with its minutes."""
    wall = max(record["wall_s"], 1e-9)
    rows = _rows(record["nodes"], wall)
    figure = Figure(figsize=(10, 1.2 + 0.4 * max(len(rows), 1)), layout="constrained")
    axes = figure.add_subplot()
    for y, (label, spans) in enumerate(rows):
        failed = any(n["status"] != "finished" for n in record["nodes"] if n["node"] == label)
        axes.broken_barh([(s / 60, d / 60) for s, d in spans], (y - 0.35, 0.7),
                         color="tab:red" if failed else "tab:blue")
        if len(spans) == 1:
            start, seconds = spans[0]
            axes.text((start + seconds) / 60 + wall / 60 * 0.005, y, f"{seconds / 60:.1f} min", va="center",
                      fontsize=8)
    axes.set_yticks(range(len(rows)), [label for label, _ in rows], fontsize=8)
    axes.invert_yaxis()
    axes.set_xlim(0, wall / 60 * 1.1)
    axes.set_xlabel("minutes from the run's start")
    axes.grid(axis="x", alpha=0.3)
    axes.set_title(f"{record['pipeline']}: {wall / 60:.1f} min wall, {outside_seconds(record) / 60:.1f} min outside "
                   f"nodes ({record['status']})", fontsize=10)
    return figure
