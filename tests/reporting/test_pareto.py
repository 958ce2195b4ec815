"""The students' chart: the Pareto front, the table from the runs' evaluation tables, and labels that stay clear of
the points and of one another."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from signdistill.reporting.pareto import (  # noqa: E402
    dodged,
    pareto_front,
    plot_pareto,
    seed_students_table,
    students_pareto,
)


def test_front_keeps_the_runs_nothing_beats() -> None:
    costs, errors = [1.0, 2.0, 2.0, 4.0, 0.5, 4.0], [30.0, 20.0, 25.0, 20.0, 40.0, 10.0]
    assert pareto_front(costs, errors) == [True, True, False, False, True, True]
    assert pareto_front([1.0, 1.0], [5.0, 5.0]) == [True, True]  # equal runs dominate neither


def _tables(test_wer: float, gmacs: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    wer = pd.DataFrame([{"split": split, "signer": "all", "wer": test_wer + (split == "dev"), "del": 1.0, "ins": 2.0}
                        for split in ("dev", "test")])
    cost = pd.DataFrame([{"model": "m", "frames": 200, "params_m": gmacs / 3, "gmacs": gmacs, "latency_s": gmacs / 10}])
    return wer, cost


def test_table_and_chart_of_close_runs() -> None:
    # near-identical runs (scratch and distilled students share a network, so their MACs are equal)
    runs = {"a": (40.0, 0.1), "b": (38.0, 0.1), "c": (20.0, 0.4), "d": (21.0, 0.41), "e": (60.0, 1.2), "f": (25.0, 1.2)}
    tables = [t for wer, gmacs in runs.values() for t in _tables(wer, gmacs)]
    latency = {"frames": 90, "seconds": {run: {"total": 0.5} for run in runs}}
    labels = {run: f"student {run} with a long label" for run in runs}
    table, fig = students_pareto(latency, *tables, runs=list(runs), labels=labels, title="t")
    assert list(table.run) == list(runs)
    assert list(table.pareto) == [False, True, True, False, False, False]
    assert table.e2e_latency_s.tolist() == [0.5] * 6 and set(table.e2e_frames) == {90}
    ax = fig.axes[0]
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in ax.texts]
    assert sorted(t.get_text() for t in ax.texts) == sorted(labels.values())
    dots = ax.transData.transform(list(zip(dodged(table.gmacs), table.test_wer, strict=True)))
    for i, box in enumerate(boxes):
        assert not any(box.overlaps(other) for other in boxes[i + 1:]), ax.texts[i].get_text()
        assert not any(box.contains(x, y) for x, y in dots), ax.texts[i].get_text()


def test_equal_costs_are_drawn_apart_without_passing_another_cost() -> None:
    x = dodged([0.1, 1.2, 1.2, 1.2, 0.4])
    assert x[0] == 0.1 and x[4] == 0.4 and x[1] == 1.2  # the group spreads away from 0.4, its only neighbour
    assert x[1] < x[2] < x[3] and x[3] == pytest.approx(1.2 * 1.05**2)
    near = dodged([1.152, 1.152, 1.221, 1.221, 1.221, 1.221, 1.221, 1.221, 0.408, 0.408])
    assert near[:2].max() < near[2:8].min() and near[8:].max() < near[:2].min()  # each group stays on its side
    assert len(set(np.round(near, 9))) == 10 and near[2] == 1.221


def test_a_crowd_of_one_cost_stays_near_it_marked_and_its_labels_readable() -> None:
    """Ten students of one network: drawn within 45% of their cost, a bracket with a tick at the cost they share,
    and no label over another (a crowded label crosses an error bar instead)."""
    wers = [41.1, 26.3, 16.4, 4.3, 35.5, 11.7, 39.0, 30.6, 10.5, 9.5, 42.7, 8.3]
    costs = [1.152, 1.152] + [1.221] * 10
    x = dodged(costs)
    assert x[2] == 1.221 and x[2:].max() <= 1.221 * 1.45 + 1e-9 and len(set(np.round(x, 9))) == 12
    table = pd.DataFrame({"label": [f"a student of network {i}" for i in range(12)], "test_wer": wers,
                          "test_wer_std": [2.0] * 12, "gmacs": costs, "frames": 200,
                          "pareto": pareto_front(costs, wers)})
    fig = plot_pareto(table, "t")
    ax = fig.axes[0]
    assert any(t.get_text() == "10 runs of 1.221 GMACs" for t in ax.texts)  # the pair at 1.152 gets no mark
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in ax.texts if t.get_text().startswith("a student")]
    assert len(boxes) == 12
    assert not any(box.overlaps(other) for i, box in enumerate(boxes) for other in boxes[i + 1:])
    assert min(ax.get_yticks()) >= 0


def test_seed_students_are_means_with_their_std_on_the_front() -> None:
    cost = {run: pd.DataFrame([{"frames": 200, "params_m": 1.0, "gmacs": g, "latency_s": 0.01}])
            for run, g in (("cheap", 0.1), ("dear", 1.2), ("dear_better", 1.2))}
    wers = {"dear": [30.0, 34.0], "cheap": [50.0, 52.0, 54.0], "dear_better": [20.0, 22.0]}
    table = seed_students_table(wers, cost, labels={"cheap": "the cheap one"})
    assert list(table.run) == ["cheap", "dear", "dear_better"]  # cheapest first, ties in the given order
    assert table.test_wer.tolist() == [52.0, 32.0, 21.0] and table.seeds.tolist() == [3, 2, 2]
    assert table.test_wer_std.tolist() == pytest.approx([2.0, 2.0**1.5, 2.0**0.5])
    assert table.pareto.tolist() == [True, False, True] and table.label.tolist()[0] == "the cheap one"
    ax = plot_pareto(table, "t").axes[0]
    assert len(ax.containers) == 1  # the std error bars
