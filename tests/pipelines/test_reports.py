"""Report tables and plots (``signdistill.reporting``, no Kedro session needed)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from signdistill.reporting.comparison import ablation_table  # noqa: E402
from signdistill.reporting.papers import PaperRow  # noqa: E402


def _wer(test: float) -> pd.DataFrame:
    return pd.DataFrame([{"split": s, "signer": "all", "wer": w, "sub": 0.0, "del": w / 2, "ins": 0.0}
                         for s, w in (("dev", test + 1), ("test", test))])


def _cost(gmacs: float) -> pd.DataFrame:
    return pd.DataFrame([{"model": "m", "frames": 200, "params_m": 2.0, "gmacs": gmacs, "latency_s": 0.1}])


def test_ablation_table_puts_each_row_next_to_the_paper() -> None:
    rows = {"a": PaperRow("baseline", 24.7), "b": PaperRow("+ WS", 21.4), "c": PaperRow("ours only")}
    table, fig, metrics = ablation_table(_wer(22.8), _cost(1.2), _wer(11.6), _cost(1.2), _wer(30.0), _cost(1.2),
                                         rows=rows)
    assert list(table.row) == ["baseline", "+ WS", "ours only"]
    assert table.set_index("run").loc["b", "test_wer"] == pytest.approx(11.6)
    assert table.set_index("run").loc["b", "paper_wer"] == pytest.approx(21.4)
    scatter, bars = fig.axes
    heights = [patch.get_height() for patch in bars.patches]
    assert heights[:3] == pytest.approx([22.8, 11.6, 30.0]) and heights[3:5] == pytest.approx([24.7, 21.4])
    assert metrics["a_test_wer"]["value"] == pytest.approx(22.8)


def test_efficiency_counts_only_what_runs_at_inference() -> None:
    """CTCA's TCN branch and cross-modality module train only: the profile of its package leaves them out."""
    import torch

    from signdistill.models.ctca import CTCAConfig, CTCARecognizer
    from signdistill.models.registry import package_model
    from signdistill.reporting.evaluation import efficiency_table

    config = CTCAConfig(num_classes=5, width=4, tcn_channels=16, lstm_hidden=8, lstm_layers=1)
    model = CTCARecognizer(config, gloss_embeddings=torch.randn(5, 12))
    package = package_model("ctca", model, model.state_dict(), {"glosses": list("abcd")}, {"crop": 16})
    row = efficiency_table(package, {"profile_frames": 8}).iloc[0]
    inference = sum(p.numel() for p in model.export().parameters())
    assert row["params"] == inference < sum(p.numel() for p in model.parameters())


def test_report_figures_name_the_table_and_the_paper_rows() -> None:
    """Titled by the table, rows as the paper labels them, runs of one cost spread apart, whole epochs."""
    from signdistill.pipelines.runs import table_title
    from signdistill.reporting.evaluation import training_curves

    rows = {"a": PaperRow("baseline", 24.7), "b": PaperRow("+ WS + WN", 21.4)}
    _, fig, _ = ablation_table(_wer(22.8), _cost(1.2), _wer(22.8), _cost(1.2), rows=rows,
                               title=table_title("smkd_table1"))
    assert fig._suptitle.get_text().startswith("SMKD Table 1")
    scatter, bars = fig.axes
    assert [t.get_text() for t in bars.get_xticklabels()] == ["baseline", "+ WS + WN"]
    assert [t.get_text() for t in scatter.get_legend().get_texts()] == ["baseline", "+ WS + WN"]
    xs = [collection.get_offsets()[0][0] for collection in scatter.collections]
    assert xs[0] != xs[1] and xs == pytest.approx([1.2, 1.2], rel=0.03)  # equal cost and WER: not one dot
    history = {"epochs": [{"epoch": e, "train_loss": 1.0 / (e + 1), "dev_wer": 90.0 - e} for e in range(3)],
               "best_epoch": 2}
    curves = training_curves(history, run="smkd_ws")
    assert "smkd_ws" in curves._suptitle.get_text()
    curves.canvas.draw()
    assert list(curves.axes[0].get_xticks()) == [1, 2, 3]
    one = training_curves({"epochs": history["epochs"][:1], "best_epoch": 0}, run="smkd_ws")
    assert list(one.axes[1].get_xticks()) == [1]


def test_report_legends_sit_outside_the_data_and_name_every_line() -> None:
    """No legend covers a panel's data area; every plotted line and marker has its legend entry."""
    from signdistill.reporting.evaluation import training_curves

    rows = {run: PaperRow(f"row {run}", 20.0 + i) for i, run in enumerate("abcdefghi")}
    tables = [t for _ in rows for t in (_wer(30.0), _cost(1.0))]
    _, table_fig, _ = ablation_table(*tables, rows=rows, title="SMKD Table 4")
    history = {"epochs": [{"epoch": e, "train_loss": 2.0 - e / 4, "train_ctc": 2.0 - e / 4, "dev_wer": 90.0 - e}
                          for e in range(3)], "best_epoch": 2}
    curves = training_curves(history, run="smkd")
    for fig in (table_fig, curves):
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        for ax in fig.axes:
            legend = ax.get_legend()
            assert legend is not None, ax.get_title()
            assert not legend.get_window_extent(renderer).overlaps(ax.get_window_extent(renderer)), ax.get_title()
            drawn = [a for a in [*ax.get_lines(), *ax.collections, *ax.containers] if not a.get_label().startswith("_")]
            assert len(legend.get_texts()) == len(drawn) > 0
    assert [t.get_text() for t in curves.axes[0].get_legend().get_texts()] == ["ctc", "loss"]
    assert "greedy" in curves.axes[1].get_legend().get_texts()[0].get_text()
