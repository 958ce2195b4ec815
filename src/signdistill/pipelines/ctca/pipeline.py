"""Wiring of ``ctca``: the baseline and CTCA, each trained and evaluated, then the comparison."""

from kedro.pipeline import Pipeline

from signdistill.pipelines.evaluation.pipeline import method_against_baseline

# For orientation only: PHOENIX-2014 test WER, Table 5 (baseline and full CTCA).
PAPER = {"baseline": {"wer": 22.1}, "ctca": {"wer": 20.1}}


def create_pipeline(**kwargs) -> Pipeline:
    return method_against_baseline("ctca", PAPER, baseline="student_res")
