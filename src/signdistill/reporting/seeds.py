"""A method against its baseline over seeds: the verdict table (CSV), its figure and its MLflow metrics.

Each comparison is a pair of runs (``smkd`` against ``student_res``) trained at the same seeds; the verdict is
``metrics.verdict.seed_verdict`` on their test WERs (a one-sided Welch t-test, Mann-Whitney U beside it).
"""

from __future__ import annotations

import math
import textwrap

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from signdistill.metrics.verdict import SeedVerdict, format_p, seed_verdict
from signdistill.training.seeds import seed_run_name

Comparison = tuple[str, str]  # (method run, baseline run)


def seed_wers(metrics: dict, split: str) -> float:
    """One run's WER on ``split`` from its ``wer_metrics`` (``{"test_wer": {"value": ..}}``)."""
    return float(metrics[f"{split}_wer"]["value"])


def verdict_rows(comparison: Comparison, seeds: list[int], method: list[dict], baseline: list[dict]
                 ) -> tuple[list[dict], SeedVerdict]:
    """The comparison's rows: one per seed (dev and test WER of both runs), then mean, std and the verdict row
    (the test-WER difference method - baseline, its 95% interval, the p-values, the verdict)."""
    run, base = comparison
    name = f"{run} vs {base}"
    keys = ("method_dev_wer", "method_test_wer", "baseline_dev_wer", "baseline_test_wer")
    rows = []
    for seed, m, b in zip(seeds, method, baseline, strict=True):
        values = (seed_wers(m, "dev"), seed_wers(m, "test"), seed_wers(b, "dev"), seed_wers(b, "test"))
        rows.append({"comparison": name, "method": run, "baseline": base, "row": f"seed {seed}",
                     **dict(zip(keys, values, strict=True))})
    table = pd.DataFrame(rows)[list(keys)]
    rows.append({"comparison": name, "method": run, "baseline": base, "row": "mean", **table.mean().to_dict()})
    rows.append({"comparison": name, "method": run, "baseline": base, "row": "std",
                 **table.std(ddof=1).to_dict()})
    verdict = seed_verdict(list(table.method_test_wer), list(table.baseline_test_wer))
    rows.append({"comparison": name, "method": run, "baseline": base, "row": "verdict (test WER)",
                 "difference": verdict.difference, "ci95_low": verdict.ci_low, "ci95_high": verdict.ci_high,
                 "welch_p": verdict.welch_p, "mann_whitney_p": verdict.mann_whitney_p, "verdict": verdict.verdict})
    return rows, verdict


LEFT_OUT = "left out"


def seeds_report(*run_metrics: dict, comparisons: list[Comparison], seeds: list[int], title: str,
                 left_out: list[Comparison] = ()) -> tuple[pd.DataFrame, Figure, dict]:
    """``run_metrics``: every comparison's method then baseline ``wer_metrics``, seed by seed (the order of
    ``seeds_inputs``). Returns the table, the figure and the MLflow metrics of the verdicts. ``left_out``: pairs
    the pipeline was built without (``seeds_left_out``), one row each saying so, so that the table tells a
    reader what it does not judge."""
    rows, verdicts = [], []
    per = len(seeds)
    for i, comparison in enumerate(comparisons):
        chunk = run_metrics[2 * i * per: 2 * (i + 1) * per]
        comparison_rows, verdict = verdict_rows(comparison, seeds, list(chunk[:per]), list(chunk[per:]))
        rows += comparison_rows
        verdicts.append((comparison, verdict, comparison_rows[:per]))
    rows += [{"comparison": f"{run} vs {base}", "method": run, "baseline": base, "row": LEFT_OUT,
              "verdict": "not judged (seeds_left_out)"} for run, base in left_out]
    metrics = {}
    for (run, base), verdict, _ in verdicts:
        for key in ("difference", "welch_p", "mann_whitney_p", "method_mean", "baseline_mean"):
            value = getattr(verdict, key)
            if not math.isnan(value):
                metrics[f"{run}_vs_{base}.{key}"] = {"value": float(value), "step": 0}
        metrics[f"{run}_vs_{base}.beats"] = {"value": float(verdict.beats), "step": 0}
    return pd.DataFrame(rows), seeds_figure(verdicts, title), metrics


def seeds_inputs(comparisons: list[Comparison], seeds: list[int], dataset: str = "wer_metrics") -> list[str]:
    """The ``<run>_seed<s>.<dataset>`` names ``seeds_report`` reads, in its order."""
    return [f"{seed_run_name(run, seed)}.{dataset}" for pair in comparisons for run in pair for seed in seeds]


PANELS_PER_ROW = 3  # more comparisons wrap onto further rows, so that the figure stays readable at page width


def seeds_figure(verdicts: list[tuple[Comparison, SeedVerdict, list[dict]]], title: str) -> Figure:
    """One panel per comparison (``PANELS_PER_ROW`` to a row): each seed's test WER of both runs as points, the
    means as bars, the verdict and its p-values in the panel's title."""
    columns = min(len(verdicts), PANELS_PER_ROW)
    lines = math.ceil(len(verdicts) / columns)
    fig, axes = plt.subplots(lines, columns, figsize=(4.2 * columns, 4.4 * lines - 0.6), squeeze=False)
    for ax in axes.ravel()[len(verdicts):]:
        ax.set_visible(False)
    for ax, ((run, base), verdict, rows) in zip(axes.ravel(), verdicts, strict=False):
        for x, (label, key, colour) in enumerate(((run, "method_test_wer", "tab:blue"),
                                                  (base, "baseline_test_wer", "tab:grey"))):
            values = np.array([r[key] for r in rows])
            jitter = np.linspace(-0.08, 0.08, len(values)) if len(values) > 1 else np.zeros(1)
            ax.scatter(x + jitter, values, color=colour, s=28, zorder=3, label=f"{label} (seeds)")
            ax.hlines(values.mean(), x - 0.25, x + 0.25, color=colour, linewidth=2.5, zorder=2,
                      label=f"{label} mean {values.mean():.1f}")
        ax.set_xticks([0, 1], [run, base], fontsize=8)
        ax.set_xlim(-0.6, 1.6)
        ax.set_ylabel("test WER (%)")
        ax.set_title(f"{verdict.verdict}: {verdict.difference:+.1f} WER\nWelch p={format_p(verdict.welch_p)}, "
                     f"Mann-Whitney p={format_p(verdict.mann_whitney_p)}", fontsize=9)
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, frameon=False)
    # a one-panel figure is narrower than a long title: wrap it to the figure's width
    wrapped = textwrap.fill(title, width=int(11 * fig.get_figwidth()))
    fig.suptitle(wrapped, fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 1 - (0.2 * (wrapped.count("\n") + 1) + 0.1) / fig.get_figheight()))
    return fig
