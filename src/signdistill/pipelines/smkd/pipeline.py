"""Wiring of ``smkd``: the baseline and SMKD, each trained and evaluated, then the comparison."""

from kedro.pipeline import Pipeline

from signdistill.pipelines.evaluation.pipeline import method_against_baseline

# For orientation only: PHOENIX-2014 test WER, Table 3 (baseline) and the main results (SMKD).
PAPER = {"baseline": {"wer": 24.7}, "smkd": {"wer": 21.0}}


def create_pipeline(**kwargs) -> Pipeline:
    return method_against_baseline("smkd", PAPER, baseline="student_res")
