"""Where a ``kedro run``'s wall time went: each node's span (loading its inputs, its function, saving its outputs)
and the time outside every node (Kedro and MLflow themselves), as a record, log lines and a timeline chart.

A record is a dict: ``pipeline``, ``command``, ``started`` (ISO time), ``wall_s``, ``status`` and ``nodes`` (one
dict per node in the order they started: ``node``, ``start_s`` from the run's start, ``seconds`` of its span,
``run_start_s`` and ``run_s``: when its function started and its seconds alone, ``status``). The span is what
a node costs here: this project's stores do their work as a dataset is saved or loaded (SynthSign generated,
frames packed, flow and keypoints computed).
"""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.figure import Figure

SHOWN_SHARE = 0.01  # the chart draws a node of its own from this share of the wall time; the rest share one row


def node_seconds(record: dict) -> float:
    return sum(n["seconds"] for n in record["nodes"])


def dataset_seconds(node: dict) -> float:
    """A node's seconds loading and saving datasets: its span less its function."""
    return max(0.0, node["seconds"] - node.get("run_s", node["seconds"]))


def outside_seconds(record: dict) -> float:
    """Wall time in no node (Kedro, hooks): 0 when nodes overlapped (a parallel runner)."""
    return max(0.0, record["wall_s"] - node_seconds(record))


def summary_lines(record: dict, most: int = 8) -> list[str]:
    """The longest ``most`` nodes and the time outside nodes, in minutes and shares of the wall time."""
    wall = max(record["wall_s"], 1e-9)
    lines = [f"{record['pipeline']}: {record['wall_s'] / 60:.1f} min wall ({record['status']}), "
             f"{len(record['nodes'])} nodes"]
    longest = sorted(record["nodes"], key=lambda n: -n["seconds"])[:most]
    for node in longest:
        io = dataset_seconds(node)
        lines.append(f"  {node['node']:<40} {node['seconds'] / 60:7.1f} min {100 * node['seconds'] / wall:5.1f}%"
                     + (f"  ({io / 60:.1f} min in its datasets)" if io >= 30 else ""))
    rest = node_seconds(record) - sum(n["seconds"] for n in longest)
    if len(record["nodes"]) > most:
        others = f"{len(record['nodes']) - most} other nodes"
        lines.append(f"  {others:<40} {rest / 60:7.1f} min {100 * rest / wall:5.1f}%")
    outside = outside_seconds(record)
    lines.append(f"  {'outside nodes (Kedro, hooks)':<40} {outside / 60:7.1f} min {100 * outside / wall:5.1f}%")
    return lines


def _rows(nodes: Sequence[dict], wall: float) -> list[tuple[str, list[dict]]]:
    """One row per node of at least ``SHOWN_SHARE`` of the wall time in start order, then one for the others."""
    shown = [n for n in nodes if n["seconds"] >= SHOWN_SHARE * wall]
    others = [n for n in nodes if n["seconds"] < SHOWN_SHARE * wall]
    rows = [(n["node"], [n]) for n in sorted(shown, key=lambda n: n["start_s"])]
    if others:
        rows.append((f"{len(others)} shorter nodes ({sum(n['seconds'] for n in others) / 60:.1f} min)", others))
    return rows


def _duration(seconds: float) -> str:
    if seconds >= 60:
        return f"{seconds / 60:.1f} min"
    return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"


def timeline_figure(record: dict) -> Figure:
    """Each node as a bar over its span, minutes on x, labelled with its minutes: dark while its function runs,
    light while its datasets are loaded and saved."""
    wall = max(record["wall_s"], 1e-9)
    rows = _rows(record["nodes"], wall)
    figure = Figure(figsize=(10, 1.4 + 0.4 * max(len(rows), 1)), layout="constrained")
    axes = figure.add_subplot()
    for y, (_, nodes) in enumerate(rows):
        color = "tab:red" if any(n["status"] != "finished" for n in nodes) else "tab:blue"
        axes.broken_barh([(n["start_s"] / 60, n["seconds"] / 60) for n in nodes], (y - 0.35, 0.7), color=color,
                         alpha=0.35, label="loading and saving its datasets" if y == 0 else None)
        axes.broken_barh([(n.get("run_start_s", n["start_s"]) / 60, n.get("run_s", n["seconds"]) / 60)
                          for n in nodes], (y - 0.35, 0.7), color=color, label="its function" if y == 0 else None)
        if len(nodes) == 1:
            end = nodes[0]["start_s"] + nodes[0]["seconds"]
            axes.text(end / 60 + wall / 60 * 0.005, y, _duration(nodes[0]["seconds"]), va="center", fontsize=8)
    axes.set_yticks(range(len(rows)), [label for label, _ in rows], fontsize=8)
    axes.invert_yaxis()
    axes.set_xlim(0, wall / 60 * 1.1)
    axes.set_xlabel("minutes from the run's start")
    axes.grid(axis="x", alpha=0.3)
    if rows:
        axes.legend(loc="upper right", fontsize=8)  # a pipeline's first stages are short: the corner is free
    axes.set_title(f"{record['pipeline']}: {wall / 60:.1f} min wall, {outside_seconds(record) / 60:.1f} min outside "
                   f"nodes ({record['status']})", fontsize=10)
    return figure
