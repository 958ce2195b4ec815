"""Nodes of ``distill_crkd``: the report of the paper's Table V on this corpus."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from signdistill.pipelines.evaluation.nodes import compare_runs

# For orientation only (PHOENIX-2014 test, 224 px teacher, 72 px LRINet, 200 frames; "GFlops" are MACs):
# Table V (MSTNet, CRKD) and Table VII's multi-level-CTC-only column for LRINet without distillation.
PAPER = {
    "crkd_teacher": {"wer": 21.4, "params_m": 120.3, "gmacs": 736.5},
    "crkd_scratch": {"wer": 22.7, "params_m": 10.5, "gmacs": 257.0},
    "crkd_distilled": {"wer": 20.9, "params_m": 10.5, "gmacs": 257.0},
}


def crkd_report(teacher_wer: pd.DataFrame, teacher_cost: pd.DataFrame, scratch_wer: pd.DataFrame,
                scratch_cost: pd.DataFrame, distilled_wer: pd.DataFrame,
                distilled_cost: pd.DataFrame) -> tuple[pd.DataFrame, Figure, dict]:
    """Teacher, LRINet from scratch and LRINet distilled: WER, parameters, MACs and latency."""
    runs = {"crkd_teacher": (teacher_wer, teacher_cost), "crkd_scratch": (scratch_wer, scratch_cost),
            "crkd_distilled": (distilled_wer, distilled_cost)}
    return compare_runs(runs, PAPER, title="CRKD Table V: MSTNet teacher, LRINet from scratch and distilled")
