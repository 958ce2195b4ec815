"""Nodes of ``distill_signkd``: what distillation bought, next to the paper's numbers."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from signdistill.pipelines.evaluation.nodes import compare_runs

# For orientation only, PHOENIX-2014T test WER from Table 4: (a) the teacher with lambda 1.0 / 0.2 / 1.0,
# (b) the single-modal student with every distillation loss; the CTC-only student is 8.7 points worse
# (section 4.4's text: the table's CTC-only row did not survive the paper's extraction).
PAPER = {
    "signkd_teacher": {"wer": 18.1},
    "signkd_scratch": {"wer": 28.6},
    "signkd_distilled": {"wer": 19.9},
}


def signkd_report(teacher_wer: pd.DataFrame, teacher_cost: pd.DataFrame, scratch_wer: pd.DataFrame,
                  scratch_cost: pd.DataFrame, distilled_wer: pd.DataFrame,
                  distilled_cost: pd.DataFrame) -> tuple[pd.DataFrame, Figure, dict]:
    """Teacher, RGB student from scratch and distilled: WER (del/ins), parameters, MACs, latency."""
    return compare_runs({"signkd_teacher": (teacher_wer, teacher_cost),
                         "signkd_scratch": (scratch_wer, scratch_cost),
                         "signkd_distilled": (distilled_wer, distilled_cost)}, PAPER)
