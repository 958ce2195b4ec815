"""Nodes of ``distill_signkd``: what distillation bought, next to the paper's numbers."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from signdistill.data.features import FeatureConfig
from signdistill.decoding.video import end_to_end_latency, packaged_model
from signdistill.pipelines.evaluation.nodes import compare_runs

# For orientation only, PHOENIX-2014T test WER: Table 3's full teacher (VE+KE+FE, MLP fusion at M1-M4), Table
# 4(b)'s single-modal student trained with CTC alone and with every distillation loss.
PAPER = {
    "signkd_teacher": {"wer": 18.1},
    "signkd_scratch": {"wer": 21.8},
    "signkd_distilled": {"wer": 19.9},
}


def signkd_latency(teacher: dict, student: dict, index: pd.DataFrame, features: dict, evaluation: dict) -> dict:
    """Video in, glosses out on the first test video: the teacher with its flow and keypoint extraction,
    the distilled student with RGB alone; median seconds per stage and the teacher / student ratio."""
    test = index[index.split == "test"]
    if test.empty:
        raise ValueError("the corpus index has no test video to time")
    models = {"signkd_teacher": packaged_model(teacher), "signkd_distilled": packaged_model(student)}
    return end_to_end_latency(models, Path(test.source.iloc[0]), FeatureConfig.from_params(features),
                              evaluation["decoder"], int(evaluation["beam_width"]),
                              int(evaluation.get("latency_repeats", 3)))


REPORT_RUNS = ("signkd_teacher", "signkd_scratch", "signkd_distilled")


def signkd_report(latency: dict, *tables: pd.DataFrame) -> tuple[pd.DataFrame, Figure, dict]:
    """Teacher, RGB student from scratch and distilled: WER
    (del/ins), parameters, MACs, network latency, and end to end (video in, glosses out: the teacher's flow and
    keypoints included) with its ratio. ``tables``: each of ``REPORT_RUNS``' wer and efficiency tables."""
    runs = dict(zip(REPORT_RUNS, zip(tables[::2], tables[1::2], strict=True), strict=True))
    table, fig, metrics = compare_runs(runs, PAPER, title="SignKD: teacher, RGB student from scratch and distilled",
                                       labels={"signkd_teacher": "teacher (RGB + keypoints + flow)",
                                               "signkd_scratch": "RGB student, CTC only",
                                               "signkd_distilled": "RGB student, + S1-S4 + O"})
    seconds = latency["seconds"]
    table["e2e_latency_s"] = [seconds.get(run, {}).get("total") for run in table.run]
    table["e2e_frames"] = latency["frames"]
    metrics["e2e_latency_ratio"] = {"value": float(latency["ratio"]), "step": 0}
    return table, fig, metrics
