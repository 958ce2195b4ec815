"""Wiring of ``seeds_smkd``: SMKD and the baseline (``seeds_baseline``, added by the registry) over the configured
seeds, and the verdict: does SMKD beat the baseline on test WER (one-sided Welch t-test), at the same budget and
at the baseline's own best recipe?"""

from kedro.pipeline import Pipeline

from signdistill.pipelines.runs import configured_seeds, seed_runs, seeds_verdict

COMPARISONS = [("smkd", "student_res"), ("smkd", "student_res_best")]


def create_pipeline(**kwargs) -> Pipeline:
    seeds = configured_seeds()
    return seed_runs("smkd", seeds) + seeds_verdict("smkd", COMPARISONS, seeds, "SMKD against the baseline over seeds")
