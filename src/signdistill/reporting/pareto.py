"""Every student the project trains on one chart: test WER against inference cost, the Pareto front drawn.

A run is on the front when no other run is at most as costly and at most as wrong, and strictly better in one of
the two. Points are labelled by name; each label goes where it covers neither a point nor another label
(``place_labels``), so that close runs stay readable.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from signdistill.reporting.comparison import paired_tables

# every student the project trains (the networks deployed at test time), as the charts name them
STUDENT_LABELS = {
    "teacher_res": "baseline, teacher resolution", "student_res": "baseline, student resolution",
    "student_res_best": "baseline, student res., best recipe", "smkd": "SMKD",
    "smkd_best": "SMKD, best recipe", "ctca": "CTCA",
    "ctca_d": "SDPN-D (CTCA without L_cmd)", "ctca_sdpn": "SDPN scratch",
    "crkd_scratch": "LRINet scratch", "crkd_distilled": "LRINet, CRKD",
    "crkd_scratch_best": "LRINet scratch, best recipe", "crkd_distilled_best": "LRINet, CRKD, best recipe",
    "ctca_sdpn_best": "SDPN scratch, best recipe", "ctca_d_best": "SDPN-D, best recipe",
    "ctca_best": "CTCA, best recipe",
    "signkd_scratch": "S3D RGB scratch", "signkd_distilled": "S3D RGB, SignKD",
    "combined_scratch": "S3D low-res scratch", "combined_distilled": "S3D low-res, SignKD teacher",
    "combined_distilled_large": "S3D low-res, larger, SignKD teacher",
}
COLUMNS = ["run", "label", "test_wer", "dev_wer", "test_del", "test_ins", "params_m", "gmacs", "frames", "latency_s",
           "e2e_latency_s", "e2e_frames", "pareto"]
# label offsets in points, tried in this order: right, left, above, below, then the diagonals, then further out
OFFSETS = [(dx * r, dy * r) for r in (8, 18, 30, 45) for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (-1, 1),
                                                                 (1, -1), (-1, -1))]


def pareto_front(costs: Sequence[float], errors: Sequence[float]) -> list[bool]:
    """For each point, whether no other point dominates it (no costlier and no worse, better in one)."""
    points = list(zip(costs, errors, strict=True))
    return [not any(c <= cost and e <= error and (c < cost or e < error) for c, e in points)
            for cost, error in points]


def students_table(latency: dict, *tables: pd.DataFrame, runs: list[str], labels: dict[str, str]) -> pd.DataFrame:
    """One row per run: test and dev WER (del/ins), parameters, MACs and network latency of its evaluation
    (``tables``: each run's wer and efficiency tables in ``runs``' order), the end-to-end latency (video in,
    glosses out: ``latency``, ``decoding.video.end_to_end_latency``) and whether it is on the Pareto front."""
    rows = []
    for run, (wer, efficiency) in paired_tables(runs, tables).items():
        test = wer[(wer.split == "test") & (wer.signer == "all")].iloc[0]
        dev = wer[(wer.split == "dev") & (wer.signer == "all")].iloc[0]
        cost = efficiency.iloc[0]
        rows.append({"run": run, "label": labels.get(run, run), "test_wer": float(test["wer"]),
                     "dev_wer": float(dev["wer"]), "test_del": float(test["del"]), "test_ins": float(test["ins"]),
                     "params_m": float(cost["params_m"]), "gmacs": float(cost["gmacs"]), "frames": int(cost["frames"]),
                     "latency_s": float(cost["latency_s"]),
                     "e2e_latency_s": latency["seconds"].get(run, {}).get("total"), "e2e_frames": latency["frames"]})
    table = pd.DataFrame(rows, columns=COLUMNS[:-1])
    table["pareto"] = pareto_front(table.gmacs, table.test_wer)
    return table


def seed_students_table(seed_wers: dict[str, list[float]], efficiency: dict[str, pd.DataFrame],
                        labels: dict[str, str] = STUDENT_LABELS) -> pd.DataFrame:
    """One row per run trained over seeds: its seeds' mean and std test WER (``seed_wers``), its parameters, MACs
    and network latency (``efficiency``: the efficiency table of one of its seeds; the network is the same at every
    seed) and whether its mean is on the Pareto front."""
    rows = []
    for run, wers in seed_wers.items():
        cost = efficiency[run].iloc[0]
        rows.append({"run": run, "label": labels.get(run, run), "seeds": len(wers),
                     "test_wer": float(np.mean(wers)), "test_wer_std": float(np.std(wers, ddof=1)) if len(wers) > 1
                     else float("nan"), "params_m": float(cost["params_m"]), "gmacs": float(cost["gmacs"]),
                     "frames": int(cost["frames"]), "latency_s": float(cost["latency_s"])})
    table = pd.DataFrame(rows).sort_values("gmacs", kind="stable").reset_index(drop=True)
    table["pareto"] = pareto_front(table.gmacs, table.test_wer)
    return table


def dodged(costs: Sequence[float], step: float = 1.05, band: float = 1.45) -> np.ndarray:
    """``costs`` with runs of equal cost spread apart by factors of ``step`` (the x axis is logarithmic), so that
    their points and error bars stay apart; the table keeps the true costs. A group spreads from its cost towards
    its farther neighbour, by a step small enough never to reach it (a dodged point is never drawn on the wrong
    side of a run of another cost: six runs of one cost spread around it drew SMKD left of a cheaper LRINet) and
    within ``band`` of its cost (ten runs at 1.05 drew the last one half as dear again as it is);
    ``plot_pareto`` marks each group's true cost."""
    costs = np.asarray(costs, dtype=float)
    out = costs.copy()
    values = np.unique(np.round(costs, 9))
    for i, value in enumerate(values):
        same = np.flatnonzero(np.round(costs, 9) == value)
        if len(same) < 2:
            continue
        below = value / values[i - 1] if i else np.inf
        above = values[i + 1] / value if i + 1 < len(values) else np.inf
        factor = min(step, band ** (1 / (len(same) - 1)), max(below, above) ** (1 / len(same)))
        out[same] = value * factor ** (np.arange(len(same)) * (1 if above >= below else -1))
    return out


def mark_groups(ax: plt.Axes, costs: pd.Series, drawn: pd.Series) -> bool:
    """Under each group of three or more runs of one cost drawn apart (``dodged``), a bracket from its first to
    its last point with a tick at the cost they all have, so that no point reads as dearer than it is (a pair is
    drawn a step apart, which reads as one cost without it). Whether it marked any."""
    groups = [(cost, group) for cost, group in drawn.groupby(costs.round(9)) if len(group) >= 3]
    transform = ax.get_xaxis_transform()  # x in data, y in axes fraction
    for i, (cost, group) in enumerate(groups):
        y = 0.02 + 0.04 * (i % 2)  # neighbouring groups on two levels: one's label never runs over the next's bracket
        ax.plot([group.min(), group.max()], [y, y], color="0.35", lw=1, transform=transform)
        ax.plot([cost, cost], [y, y + 0.025], color="0.35", lw=1, transform=transform)
        ax.annotate(f"{len(group)} runs of {cost:.3f} GMACs", (group.max(), y), xycoords=transform,
                    xytext=(4, 0), textcoords="offset points", ha="left", va="center", fontsize=7, color="0.35")
    return bool(groups)


def plot_pareto(table: pd.DataFrame, title: str) -> Figure:
    """Test WER against GMACs (log scale), every run labelled, the front as a staircase through its runs; with a
    ``test_wer_std`` column (``seed_students_table``) each point is a mean with its seeds' std as an error bar.
    Runs of equal cost are drawn slightly apart (``dodged``)."""
    fig, ax = plt.subplots(figsize=(9, 5.6) if len(table) <= 10 else (10.5, 6.4))  # room for many labels
    table = table.assign(x=dodged(table.gmacs))
    marked = mark_groups(ax, table.gmacs, table.x)
    on_front = table[table.pareto].sort_values("x")
    if "test_wer_std" in table:
        ax.errorbar(table.x, table.test_wer, yerr=table.test_wer_std.fillna(0.0), fmt="none", ecolor="0.55",
                    elinewidth=1, capsize=3, zorder=2.5, label="std over seeds")
    ax.scatter(table.x[~table.pareto], table.test_wer[~table.pareto], s=36, color="tab:gray", zorder=3,
               label="dominated")
    ax.scatter(on_front.x, on_front.test_wer, s=48, color="tab:red", zorder=3, label="Pareto front")
    if len(on_front) > 1:
        ax.step(on_front.x, on_front.test_wer, where="post", color="tab:red", alpha=0.6, zorder=2)
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))  # a few plain numbers on a short log axis
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    low, high = float(table.x.min()), float(table.x.max())
    ax.set_xlim(low / 1.6, high * 1.6)
    spread = table.test_wer_std.fillna(0.0) if "test_wer_std" in table else pd.Series(0.0, index=table.index)
    low_wer, high_wer = float((table.test_wer - spread).min()), float((table.test_wer + spread).max())
    span = high_wer - low_wer or 1.0
    top = high_wer + 0.12 * span
    ax.set_ylim(low_wer - (0.18 if marked else 0.12) * span, top)  # room below for ``mark_groups``' brackets
    ax.set_yticks([tick for tick in ax.get_yticks() if 0 <= tick <= top])  # no negative WER on the axis
    ax.set_xlabel(f"inference GMACs per {int(table.frames.iloc[0])}-frame clip (log scale)")
    ax.set_ylabel("test WER (%)")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, loc="upper right")
    points = list(zip(table.x, table.test_wer, strict=True))
    front = list(zip(on_front.x, on_front.test_wer, strict=True))
    bars = [(x, float(y)) for x, wer, std in zip(table.x, table.test_wer, spread, strict=True)
            for y in np.linspace(wer - std, wer + std, 9)]  # labels keep clear of the error bars too
    place_labels(ax, points, list(table.label), obstacles=staircase(front) + bars)
    fig.tight_layout()
    return fig


def staircase(front: list[tuple[float, float]], samples: int = 40) -> list[tuple[float, float]]:
    """Points along the front's steps (across at each run's WER, then down to the next run's; costs on a log
    scale), for the labels to keep clear of."""
    path = []
    for (x0, y0), (x1, y1) in zip(front, front[1:], strict=False):
        path += [(float(x), y0) for x in np.geomspace(x0, x1, samples)]
        path += [(x1, float(y)) for y in np.linspace(y0, y1, samples)]
    return path


def place_labels(ax: plt.Axes, points: list[tuple[float, float]], labels: list[str],
                 obstacles: list[tuple[float, float]] = ()) -> None:
    """Annotate each point with its label at the first offset (``OFFSETS``) whose box covers no point, no
    ``obstacles`` point (a line drawn), no label placed before it and stays inside the axes; when none is free, the
    one covering fewest points that overlaps no label and stays inside, if there is one."""
    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    to_pixels = ax.transData.transform
    dots = [np.array(to_pixels(p)) for p in [*points, *obstacles]]
    frame = ax.get_window_extent(renderer)
    placed = []
    for (x, y), label in sorted(zip(points, labels, strict=True), key=lambda item: item[0]):
        best, best_overlap = None, None
        for dx, dy in OFFSETS:
            text = ax.annotate(label, (x, y), xytext=(dx, dy), textcoords="offset points", fontsize=7.5,
                               ha="left" if dx > 0 else "right" if dx < 0 else "center",
                               va="bottom" if dy > 0 else "top" if dy < 0 else "center",
                               arrowprops={"arrowstyle": "-", "color": "0.6", "lw": 0.6} if abs(dx) + abs(dy) > 16
                               else None)
            box = text.get_window_extent(renderer).expanded(1.04, 1.15)
            covered = sum(box.x0 - 5 < d[0] < box.x1 + 5 and box.y0 - 5 < d[1] < box.y1 + 5 for d in dots)
            outside = not (frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1)
            # text over text is unreadable, text over a line is not: a crowded label crosses a bar first
            score = covered + 50 * (sum(box.overlaps(other) for other in placed) + outside)
            if best_overlap is None or score < best_overlap:
                if best is not None:
                    best.remove()
                best, best_overlap = text, score
            else:
                text.remove()
            if score == 0:
                break
        placed.append(best.get_window_extent(renderer).expanded(1.04, 1.15))


def students_pareto(latency: dict, *tables: pd.DataFrame, runs: list[str], labels: dict[str, str],
                    title: str) -> tuple[pd.DataFrame, Figure]:
    """The students' table (``students_table``) and its chart (``plot_pareto``)."""
    table = students_table(latency, *tables, runs=runs, labels=labels)
    return table, plot_pareto(table, title)
