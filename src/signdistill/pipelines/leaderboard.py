"""What ``notebooks/compare_methods.ipynb`` shows, read back from the MLflow store that ``kedro run`` fills.

Every trained recogniser is a child MLflow run (``signdistill.hooks``) named by its run; the latest finished
one of each name is the one shown. The paper's numbers come from the pipelines that quote them.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import mlflow
import pandas as pd
from matplotlib.figure import Figure

from signdistill.reporting.papers import paper_wer, report_rows

# method -> (teacher, student trained from scratch, distilled student) run names. SMKD and CTCA distil inside
# one network: their "scratch" student is the baseline at the same resolution, and they have no teacher.
METHOD_RUNS = {
    "SignKD": ("signkd_teacher", "signkd_scratch", "signkd_distilled"),
    "CRKD": ("crkd_teacher", "crkd_scratch", "crkd_distilled"),
    "SMKD": (None, "student_res", "smkd"),
    "CTCA": (None, "student_res", "ctca"),
    "Combined": ("signkd_teacher", "combined_scratch", "combined_distilled"),
}
ROLES = ("teacher", "scratch", "distilled")
COLUMNS = ["method", "role", "run", "test_wer", "paper_wer", "test_del", "test_ins", "params_m", "gmacs",
           "latency_s", "e2e_latency_s"]


def default_experiment(tracking_uri: str | None = None) -> str:
    """``signdistill`` (real runs) when the store has it, else ``signdistill_quick`` (quick mode)."""
    if tracking_uri:
        mlflow.set_tracking_uri(tracking_uri)
    return "signdistill" if mlflow.get_experiment_by_name("signdistill") is not None else "signdistill_quick"


def load_runs(experiment: str, tracking_uri: str | None = None) -> pd.DataFrame:
    """The latest finished MLflow run of each trained recogniser in ``experiment``: one row per run name with
    its metrics (``test_wer``, ``gmacs``, ...) and tags (``method``, ``row.<table>``) as plain columns."""
    if tracking_uri:
        mlflow.set_tracking_uri(tracking_uri)
    if mlflow.get_experiment_by_name(experiment) is None:
        return pd.DataFrame(columns=["run"])
    runs = mlflow.search_runs(experiment_names=[experiment], filter_string="attributes.status = 'FINISHED'",
                              order_by=["attributes.start_time DESC"], output_format="pandas")
    if runs.empty or "tags.mlflow.parentRunId" not in runs:
        return pd.DataFrame(columns=["run"])
    children = runs[runs["tags.mlflow.parentRunId"].notna() & runs["metrics.test_wer"].notna()]
    latest = children.drop_duplicates("tags.mlflow.runName")  # newest first
    renamed = {c: c.split(".", 1)[1] for c in latest.columns if c.startswith(("metrics.", "tags."))}
    table = latest.rename(columns=renamed).rename(columns={"mlflow.runName": "run"})
    return table.loc[:, ~table.columns.duplicated()].reset_index(drop=True)


def leaderboard(runs: pd.DataFrame) -> pd.DataFrame:
    """Every method's teacher, scratch and distilled student found in ``runs``, the paper's WER beside."""
    paper = paper_wer()
    by_name = runs.set_index("run") if not runs.empty else pd.DataFrame()
    rows = []
    for method, names in METHOD_RUNS.items():
        for role, name in zip(ROLES, names, strict=True):
            if name is None or name not in by_name.index:
                continue
            found = by_name.loc[name]
            rows.append({"method": method, "role": role, "run": name,
                         "paper_wer": paper[method].get(name),
                         **{k: found.get(k) for k in COLUMNS[3:] if k != "paper_wer"}})
    return pd.DataFrame(rows, columns=COLUMNS)


def plot_leaderboard(board: pd.DataFrame, title: str = "Test WER against cost, every method") -> Figure:
    """Test WER against MACs and against latency (end to end where measured), one colour per method and one
    marker per role."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    fig.suptitle(title, fontsize=11)
    markers = dict(zip(ROLES, "^os", strict=True))
    colours = dict(zip(METHOD_RUNS, plt.rcParams["axes.prop_cycle"].by_key()["color"], strict=False))
    latency = board["e2e_latency_s"].fillna(board["latency_s"]) if not board.empty else board.get("latency_s")
    for ax, x, label in ((axes[0], board["gmacs"], "GMACs per clip"),
                         (axes[1], latency, "seconds per clip (end to end where measured)")):
        for i, row in board.iterrows():
            ax.scatter(x[i], row["test_wer"], marker=markers[row["role"]], color=colours[row["method"]], s=50,
                       label=f"{row['method']} {row['role']}")
        ax.set_xscale("log")
        ax.set_xlabel(label)
        ax.set_ylabel("test WER (%)")
    if not board.empty:
        axes[1].legend(fontsize=7, loc="best")
    fig.tight_layout()
    return fig


def ablation(runs: pd.DataFrame, table: str) -> pd.DataFrame:
    """One ablation table (its rows and the paper's numbers: ``reporting.papers``) from the runs."""
    by_name = runs.set_index("run") if not runs.empty else pd.DataFrame()
    out = [{"row": row.label, "run": run,
            "test_wer": by_name.loc[run].get("test_wer") if run in by_name.index else None,
            "paper_wer": row.wer, "gmacs": by_name.loc[run].get("gmacs") if run in by_name.index else None}
           for run, row in report_rows(table).items()]
    return pd.DataFrame(out).assign(table=table)


def plot_ablation(table: pd.DataFrame, title: str) -> Figure:
    fig, ax = plt.subplots(figsize=(7, 3.6))
    x = range(len(table))
    ax.bar([i - 0.2 for i in x], table["test_wer"].astype(float), 0.4, label="this corpus")
    ax.bar([i + 0.2 for i in x], table["paper_wer"].astype(float), 0.4, label="paper (its data set)")
    ax.set_xticks(list(x), table["row"], rotation=20, ha="right", fontsize=8)
    ax.set_ylabel("test WER (%)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig
