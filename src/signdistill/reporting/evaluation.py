"""A run's evaluation as people read it: hypotheses in ``signdistill score``'s format, WER tables per signer,
training curves, and the inference network's cost (parameters, MACs, latency)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator


def hypotheses_text(hypotheses: dict[str, dict[str, str]]) -> str:
    """The ``<id> <gloss> ...`` format that ``signdistill score`` reads, dev then test."""
    return "\n".join(f"{vid} {hyp}".rstrip() for split in ("dev", "test")
                     for vid, hyp in sorted(hypotheses[split].items())) + "\n"


def wer_tables(hypotheses: dict[str, dict[str, str]], index: pd.DataFrame, params: dict) -> tuple[pd.DataFrame, dict]:
    """Per-signer WER table (CSV) and the overall numbers (MLflow metrics)."""
    rows, metrics = [], {}
    from signdistill.training.evaluate import score_splits  # torch: imported by the node that runs, not at start-up

    for split, scores in score_splits(hypotheses, index.to_dict("records"), params["rules"]).items():
        for key in ("wer", "sub", "del", "ins"):
            metrics[f"{split}_{key}"] = {"value": float(scores[key]), "step": 0}
        rows.append({"split": split, "signer": "all", **{k: scores[k] for k in ("wer", "sub", "del", "ins")}})
        for signer, value in sorted(scores.get("per_signer", {}).items()):
            rows.append({"split": split, "signer": signer, **value})
    return pd.DataFrame(rows), metrics


def training_curves(history: dict, run: str = "") -> Figure:
    """Training losses and dev WER by epoch of ``run``, the best epoch marked. Every line has its own dash and
    marker (a loss term that equals the total would otherwise hide under it) and a legend below its panel, where
    it covers no point."""
    epochs = [h["epoch"] + 1 for h in history["epochs"]]
    fig, (ax_loss, ax_wer) = plt.subplots(1, 2, figsize=(9, 4.2))
    if run:
        fig.suptitle(f"{run}: training curves", fontsize=10)
    for ax in (ax_loss, ax_wer):  # epochs are whole: ticks on them, never 0.95 ... 1.05
        if len(epochs) <= 12:
            ax.set_xticks(epochs)
        else:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlim(min(epochs) - 0.5, max(epochs) + 0.5)
    # a term may run in some epochs only (SMKD's stages switch the visual CTC for CE-LS): gaps elsewhere
    keys = sorted({k for h in history["epochs"] for k in h if k.startswith("train_")})
    for i, key in enumerate(keys):
        ax_loss.plot(epochs, [h.get(key, float("nan")) for h in history["epochs"]], label=key[6:],
                     linestyle=LINE_STYLES[i % len(LINE_STYLES)], marker=MARKERS[i % len(MARKERS)],
                     markersize=max(9 - 2 * i, 3), fillstyle="none")  # hollow, shrinking: stacked ones show
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("training loss")
    _legend_below(ax_loss, len(keys))
    evaluated = [(e, h["dev_wer"]) for e, h in zip(epochs, history["epochs"], strict=True) if "dev_wer" in h]
    ax_wer.plot([e for e, _ in evaluated], [w for _, w in evaluated], marker="o", label="dev WER (greedy decoding)")
    ax_wer.axvline(history["best_epoch"] + 1, color="grey", linestyle=":",
                   label=f"best epoch ({history['best_epoch'] + 1}): the model kept")
    ax_wer.set_xlabel("epoch")
    ax_wer.set_ylabel("dev WER (%)")
    _legend_below(ax_wer, 1)
    fig.tight_layout()
    return fig


LINE_STYLES = ("-", "--", "-.", ":")
MARKERS = ("o", "s", "^", "D", "v", "x")


def _legend_below(ax: plt.Axes, entries: int) -> None:
    """The axes' legend under its x label, outside the data."""
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=min(max(entries, 1), 3),
              frameon=False)


def efficiency_table(package: dict, params: dict) -> pd.DataFrame:
    """Parameters, MACs and measured latency of the network for one clip at the model's input resolution
    (feature streams, when the model reads them, as ready inputs: their extraction is not included), of the
    inference network only (``inference_network``: CTCA's training-only branches are not counted)."""
    import torch

    from signdistill.metrics.efficiency import profile_model
    from signdistill.models.registry import inference_network, load_recognizer
    from signdistill.training.spec import input_size

    model = inference_network(load_recognizer(package))
    size = input_size(package["data"])
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
