"""Wiring of ``seeds_crkd``: LRINet from scratch and distilled from the one MSTNet teacher (``teacher_crkd``, added
by the registry, trained once) over the configured seeds, and the verdict on test WER: at the configured budget,
and against the scratch student at its own best recipe (``crkd_scratch_best``). The distilled student at that
recipe (``crkd_distilled_best``) is one run of ``ablations_crkd``: five more seeds of the costliest run would
double the pipeline for a question the two verdicts do not need."""

from kedro.pipeline import Pipeline

from signdistill.pipelines.runs import configured_seeds, seed_runs, seeds_verdict

COMPARISONS = [("crkd_distilled", "crkd_scratch"), ("crkd_distilled", "crkd_scratch_best")]


def create_pipeline(**kwargs) -> Pipeline:
    seeds = configured_seeds()
    runs = (seed_runs("crkd_scratch", seeds) + seed_runs("crkd_distilled", seeds, teacher="crkd_teacher")
            + seed_runs("crkd_scratch_best", seeds))
    return runs + seeds_verdict("crkd", COMPARISONS, seeds, "CRKD: LRINet distilled against from scratch over seeds")
