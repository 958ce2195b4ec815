"""Wiring of ``seeds_baseline``: the baseline at the student's resolution (``student_res``) over the configured
seeds, trained and evaluated; what ``seeds_smkd`` and ``seeds_ctca`` judge their methods against."""

from kedro.pipeline import Pipeline

from signdistill.pipelines.runs import configured_seeds, seed_runs


def create_pipeline(**kwargs) -> Pipeline:
    return seed_runs("student_res", configured_seeds())
