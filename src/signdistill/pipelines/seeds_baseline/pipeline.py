"""Wiring of ``seeds_baseline``: the baseline at the student's resolution over the configured seeds, trained and
evaluated at the methods' budget (``student_res``) and at its own best recipe (``student_res_best``); what
``seeds_smkd`` and ``seeds_ctca`` judge their methods against."""

from kedro.pipeline import Pipeline

from signdistill.pipelines.runs import configured_seeds, seed_runs


def create_pipeline(**kwargs) -> Pipeline:
    seeds = configured_seeds()
    return seed_runs("student_res", seeds) + seed_runs("student_res_best", seeds)
