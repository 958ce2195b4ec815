"""Wiring of ``seeds_smkd``: SMKD and the baseline (``seeds_baseline``, added by the registry) over the configured
seeds, and the verdict: does SMKD beat the baseline on test WER (one-sided Welch t-test) at the methods' budget
(``smkd`` vs ``student_res``), against the baseline at its own best recipe (``smkd`` vs ``student_res_best``), and
with both trained at that recipe (``smkd_best`` vs ``student_res_best``)?"""

from kedro.pipeline import Pipeline

from signdistill.pipelines.runs import configured_seeds, seed_runs, seeds_verdict

COMPARISONS = [("smkd", "student_res"), ("smkd", "student_res_best"), ("smkd_best", "student_res_best")]


def create_pipeline(**kwargs) -> Pipeline:
    seeds = configured_seeds()
    title = "SMKD against the baseline over seeds"
    return seed_runs("smkd", seeds) + seed_runs("smkd_best", seeds) + seeds_verdict("smkd", COMPARISONS, seeds, title)
