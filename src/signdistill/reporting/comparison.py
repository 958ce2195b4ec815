"""Runs side by side: test WER (del/ins) and cost per run next to the papers' numbers, as a table, a WER-against-MACs
figure and MLflow metrics; an ablation table is such a comparison with the paper's row labels."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, ScalarFormatter

from signdistill.reporting.papers import PaperRow, paper_numbers


def compare_runs(runs: dict[str, tuple[pd.DataFrame, pd.DataFrame]], paper: dict[str, dict], title: str = "",
                 labels: dict[str, str] | None = None) -> tuple[pd.DataFrame, Figure, dict]:
    """One table of test WER (del/ins) and cost per run, next to the paper's numbers for orientation.

    ``runs``: ``{label: (wer_table, efficiency_table)}`` from each run's evaluation; ``paper``: ``{label:
    {"wer", "params_m", "gmacs"}}`` as the paper reports them (its data set and scale, not comparable
    in absolute terms). ``title`` names the figure (the table); ``labels`` names the runs in it as the
    paper names its rows (default: the run names). Returns the table, a WER-against-MACs plot and the metrics
    for MLflow.
    """
    labels = labels or {}
    rows = []
    for label, (wer, efficiency) in runs.items():
        test = wer[(wer.split == "test") & (wer.signer == "all")].iloc[0]
        dev = wer[(wer.split == "dev") & (wer.signer == "all")].iloc[0]
        cost = efficiency.iloc[0]
        ref = paper.get(label, {})
        rows.append({"run": label, "model": cost["model"], "dev_wer": dev["wer"], "test_wer": test["wer"],
                     "test_del": test["del"], "test_ins": test["ins"], "params_m": cost["params_m"],
                     "gmacs": cost["gmacs"], "latency_s": cost["latency_s"], "frames": cost["frames"],
                     "paper_wer": ref.get("wer"), "paper_params_m": ref.get("params_m"),
                     "paper_gmacs": ref.get("gmacs")})
    table = pd.DataFrame(rows)
    fig, (ax, bars) = plt.subplots(1, 2, figsize=(11, 4.6 + 0.16 * ((len(rows) + 1) // 2)),
                                   gridspec_kw={"width_ratios": [1, 1.3]})
    if title:
        fig.suptitle(title, fontsize=11)
    _cost_scatter(ax, rows, labels)
    costs = [float(row["gmacs"]) for row in rows]
    if max(costs) > 3 * min(costs):  # costs an order apart: log scale; else a linear one keeps tick labels
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(ScalarFormatter())  # plain numbers; the default 2x10^0, 3x10^0... overlap
        ax.xaxis.set_minor_formatter(FuncFormatter(lambda v, _: f"{v:g}" if f"{v:g}"[0] in "25" else ""))
    else:
        ax.set_xlim(min(costs) * 0.85, max(costs) * 1.15)
    stacked = len({round(c, 9) for c in costs}) < len(costs)
    ax.set_xlabel(f"GMACs per {int(rows[0]['frames'])}-frame clip"
                  + (" (runs of equal cost spread 2% sideways)" if stacked else ""), fontsize=9)
    ax.set_ylabel("test WER (%)")
    ax.set_title("WER against cost (this corpus)", fontsize=9)
    _wer_bars(bars, rows, labels)
    fig.tight_layout()
    metrics = {f"{row['run']}_{key}": {"value": float(row[key]), "step": 0}
               for row in rows for key in ("test_wer", "dev_wer", "params_m", "gmacs")}
    return table, fig, metrics


def _cost_scatter(ax: plt.Axes, rows: list[dict], labels: dict[str, str]) -> None:
    """One marker per run, named in the legend; runs that share one cost (ablation rows often do) are spread
    a little sideways around it, so that none hides another."""
    shared: dict[float, list[int]] = {}
    for i, row in enumerate(rows):
        shared.setdefault(round(float(row["gmacs"]), 9), []).append(i)
    markers = "osD^vP*Xh<>p"
    for i, row in enumerate(rows):
        group = shared[round(float(row["gmacs"]), 9)]
        spread = 1.0 + 0.02 * (group.index(i) - (len(group) - 1) / 2) if len(group) > 1 else 1.0
        ax.scatter(row["gmacs"] * spread, row["test_wer"], s=45, marker=markers[i % len(markers)],
                   label=labels.get(row["run"], row["run"]))
    # below the axes: inside, "best" still lands on points when the runs fill the panel
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, frameon=False)


def _wer_bars(ax: plt.Axes, rows: list[dict], labels: dict[str, str]) -> None:
    """Each run's test WER here next to the paper's for the same row (ablation rows often share one cost, so
    the scatter alone would stack them)."""
    x = np.arange(len(rows))
    ax.bar(x - 0.2, [r["test_wer"] for r in rows], 0.4, label="this corpus")
    ax.bar(x + 0.2, [r["paper_wer"] if r["paper_wer"] is not None else np.nan for r in rows], 0.4,
           label="paper (its data set)")
    ax.set_xticks(x, [labels.get(r["run"], r["run"]) for r in rows], rotation=30, ha="right", fontsize=7)
    ax.set_ylabel("test WER (%)")
    ax.set_title("test WER: this corpus and the paper", fontsize=9, pad=22)
    ax.legend(fontsize=7, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, frameon=False)  # above the bars


def paired_tables(runs: list[str], tables: tuple[pd.DataFrame, ...]) -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
    """``{run: (wer_table, efficiency_table)}`` from the tables given pairwise in ``runs``' order."""
    return dict(zip(runs, zip(tables[::2], tables[1::2], strict=True), strict=True))


def report_table(*tables: pd.DataFrame, rows: dict[str, PaperRow], title: str = "",
                 labels: dict[str, str] | None = None) -> tuple[pd.DataFrame, Figure, dict]:
    """A method's report: ``compare_runs`` of the runs of ``rows`` (their paper rows quoted beside them);
    ``tables``: the runs' (wer_table, efficiency_table) pairs in ``rows``' order."""
    return compare_runs(paired_tables(list(rows), tables), paper_numbers(rows), title=title, labels=labels)


def ablation_table(*tables: pd.DataFrame, rows: dict[str, PaperRow], title: str = "") -> tuple[pd.DataFrame, Figure,
                                                                                                dict]:
    """An ablation table: ``rows`` maps each run to its paper row (label, test WER, GMACs); ``tables`` are the runs'
    (wer_table, efficiency_table) pairs in that order. Labels name the rows in the CSV and the figure, which
    ``title`` names."""
    paper = {run: {"wer": row.wer, "gmacs": row.gmacs} for run, row in rows.items()}
    table, fig, metrics = compare_runs(paired_tables(list(rows), tables), paper, title=title,
                                       labels={run: row.label for run, row in rows.items()})
    table.insert(1, "row", [rows[run].label for run in table.run])
    return table, fig, metrics


def with_end_to_end_latency(latency: dict, *tables: pd.DataFrame, rows: dict[str, PaperRow], title: str = "",
                            labels: dict[str, str] | None = None) -> tuple[pd.DataFrame, Figure, dict]:
    """``report_table`` plus each run's end-to-end latency (video in, glosses out: a teacher's flow and keypoint
    extraction included; ``decoding.video.end_to_end_latency``) and the teacher / student ratio."""
    table, fig, metrics = report_table(*tables, rows=rows, title=title, labels=labels)
    seconds = latency["seconds"]
    table["e2e_latency_s"] = [seconds.get(run, {}).get("total") for run in table.run]
    table["e2e_frames"] = latency["frames"]
    metrics["e2e_latency_ratio"] = {"value": float(latency["ratio"]), "step": 0}
    return table, fig, metrics
