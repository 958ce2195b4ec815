"""Nodes of the ``evaluation`` pipeline."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator, ScalarFormatter

from signdistill.data.features import FeatureStore
from signdistill.data.store import FrameStore
from signdistill.data.vocabulary import Vocabulary
from signdistill.metrics.efficiency import profile_model
from signdistill.models.registry import inference_network, load_recognizer
from signdistill.training.evaluate import decode_splits as decode_model_splits
from signdistill.training.evaluate import score_splits


def decode_splits(package: dict, store: FrameStore, index: pd.DataFrame, params: dict,
                  features: FeatureStore | None = None) -> dict[str, dict[str, str]]:
    """Hypotheses ``{split: {id: glosses}}`` for dev and test, with the configured decoder."""
    vocab = Vocabulary.from_dict(package["vocabulary"])
    return decode_model_splits(load_recognizer(package), store, index.to_dict("records"), vocab, package["data"],
                               params["decoder"], int(params["beam_width"]), features=features)


def decode_splits_with_features(package: dict, store: FrameStore, features: FeatureStore, index: pd.DataFrame,
                                params: dict) -> dict[str, dict[str, str]]:
    """``decode_splits`` for a model that reads the feature streams (a SignKD teacher)."""
    return decode_splits(package, store, index, params, features)


def hypotheses_text(hypotheses: dict[str, dict[str, str]]) -> str:
    """The ``<id> <gloss> ...`` format that ``signdistill score`` reads, dev then test."""
    return "\n".join(f"{vid} {hyp}".rstrip() for split in ("dev", "test")
                     for vid, hyp in sorted(hypotheses[split].items())) + "\n"


def wer_tables(hypotheses: dict[str, dict[str, str]], index: pd.DataFrame, params: dict) -> tuple[pd.DataFrame, dict]:
    """Per-signer WER table (CSV) and the overall numbers (MLflow metrics)."""
    rows, metrics = [], {}
    for split, scores in score_splits(hypotheses, index.to_dict("records"), params["rules"]).items():
        for key in ("wer", "sub", "del", "ins"):
            metrics[f"{split}_{key}"] = {"value": float(scores[key]), "step": 0}
        rows.append({"split": split, "signer": "all", **{k: scores[k] for k in ("wer", "sub", "del", "ins")}})
        for signer, value in sorted(scores.get("per_signer", {}).items()):
            rows.append({"split": split, "signer": signer, **value})
    return pd.DataFrame(rows), metrics


def training_curves(history: dict, run: str = "") -> Figure:
    """Training losses and dev WER by epoch of ``run``, the best epoch marked."""
    epochs = [h["epoch"] + 1 for h in history["epochs"]]
    fig, (ax_loss, ax_wer) = plt.subplots(1, 2, figsize=(9, 3.4))
    if run:
        fig.suptitle(f"{run}: training curves", fontsize=10)
    for ax in (ax_loss, ax_wer):  # epochs are whole: ticks on them, never 0.95 ... 1.05
        if len(epochs) <= 12:
            ax.set_xticks(epochs)
        else:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlim(min(epochs) - 0.5, max(epochs) + 0.5)
    # a term may run in some epochs only (SMKD's stages switch the visual CTC for CE-LS): gaps elsewhere
    for key in sorted({k for h in history["epochs"] for k in h if k.startswith("train_")}):
        ax_loss.plot(epochs, [h.get(key, float("nan")) for h in history["epochs"]], label=key[6:], marker=".")
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("loss")
    ax_loss.legend(fontsize=7)
    ax_wer.plot(epochs, [h["dev_wer"] for h in history["epochs"]], marker="o")
    ax_wer.axvline(history["best_epoch"] + 1, color="grey", linestyle=":")
    ax_wer.set_xlabel("epoch")
    ax_wer.set_ylabel("dev WER (%)")
    fig.tight_layout()
    return fig


def efficiency_table(package: dict, params: dict) -> pd.DataFrame:
    """Parameters, MACs and measured latency of the network for one clip at the model's input resolution
    (feature streams, when the model reads them, as ready inputs: their extraction is not included), of the
    inference network only (``inference_network``: CTCA's training-only branches are not counted)."""
    model = inference_network(load_recognizer(package))
    size = int(package["data"].get("resize") or package["data"]["crop"])
    frames = int(params["profile_frames"])
    batch = {"video": torch.randint(0, 255, (1, frames, size, size, 3), dtype=torch.uint8),
             "lengths": torch.tensor([frames])}
    streams = package["data"].get("streams") or []
    if "flow" in streams:
        batch["flow"] = torch.zeros(1, frames, 2, size // 2, size // 2)
    if "keypoints" in streams:
        batch["keypoints"] = torch.rand(1, frames, 133, 3) * (size // 2)
    stats = profile_model(model, (batch,))
    return pd.DataFrame([{"model": f"{package['kind']}@{size}px", "frames": frames, **stats}])


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
    fig, (ax, bars) = plt.subplots(1, 2, figsize=(11, 4.2), gridspec_kw={"width_ratios": [1, 1.3]})
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
    ax.legend(fontsize=7, loc="best")


def _wer_bars(ax: plt.Axes, rows: list[dict], labels: dict[str, str]) -> None:
    """Each run's test WER here next to the paper's for the same row (ablation rows often share one cost, so
    the scatter alone would stack them)."""
    x = np.arange(len(rows))
    ax.bar(x - 0.2, [r["test_wer"] for r in rows], 0.4, label="this corpus")
    ax.bar(x + 0.2, [r["paper_wer"] if r["paper_wer"] is not None else np.nan for r in rows], 0.4,
           label="paper (its data set)")
    ax.set_xticks(x, [labels.get(r["run"], r["run"]) for r in rows], rotation=30, ha="right", fontsize=7)
    ax.set_ylabel("test WER (%)")
    ax.set_title("test WER: this corpus and the paper", fontsize=9)
    ax.legend(fontsize=7)


def compare_with_baseline(baseline_wer: pd.DataFrame, baseline_cost: pd.DataFrame, method_wer: pd.DataFrame,
                          method_cost: pd.DataFrame, paper: dict[str, dict],
                          labels: tuple[str, str]) -> tuple[pd.DataFrame, Figure, dict]:
    """``compare_runs`` of a single-network method against the baseline it starts from."""
    return compare_runs({labels[0]: (baseline_wer, baseline_cost), labels[1]: (method_wer, method_cost)}, paper,
                        title=f"{labels[1]} against the baseline ({labels[0]})")


def ablation_table(*tables: pd.DataFrame, rows: dict[str, tuple[str, float | None, float | None]],
                   title: str = "") -> tuple[pd.DataFrame, Figure, dict]:
    """An ablation table: ``rows`` maps each run to (label, the paper's test WER, the paper's GMACs); ``tables``
    are the runs' (wer_table, efficiency_table) pairs in that order. Labels name the rows in the CSV and the
    figure, which ``title`` names."""
    pairs = dict(zip(rows, zip(tables[::2], tables[1::2], strict=True), strict=True))
    paper = {run: {"wer": wer, "gmacs": gmacs} for run, (_, wer, gmacs) in rows.items()}
    table, fig, metrics = compare_runs(pairs, paper, title=title,
                                       labels={run: label for run, (label, _, _) in rows.items()})
    table.insert(1, "row", [rows[run][0] for run in table.run])
    return table, fig, metrics
