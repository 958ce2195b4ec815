"""Nodes of ``distill_signkd``: what distillation bought, next to the paper's numbers."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from signdistill.pipelines.evaluation.nodes import compare_runs

# For orientation only, PHOENIX-2014T test WER: Table 3's full teacher (VE+KE+FE, MLP fusion at M1-M4) and
# Table 4(b)'s single-modal student trained with CTC alone and with every distillation loss.
PAPER = {
    "signkd_teacher": {"wer": 18.1},
    "signkd_scratch": {"wer": 21.8},
    "signkd_distilled": {"wer": 19.9},
}


def signkd_report(teacher_wer: pd.DataFrame, teacher_cost: pd.DataFrame, scratch_wer: pd.DataFrame,
                  scratch_cost: pd.DataFrame, distilled_wer: pd.DataFrame,
                  distilled_cost: pd.DataFrame) -> tuple[pd.DataFrame, Figure, dict]:
    """Teacher, RGB student from scratch and distilled: WER (del/ins), parameters, MACs, latency."""
    return compare_runs({"signkd_teacher": (teacher_wer, teacher_cost),
                         "signkd_scratch": (scratch_wer, scratch_cost),
                         "signkd_distilled": (distilled_wer, distilled_cost)}, PAPER)
