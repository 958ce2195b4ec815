"""Wiring of ``seeds_crkd``: LRINet from scratch and distilled from the one MSTNet teacher (``teacher_crkd``, added
by the registry, trained once) over the configured seeds, and the verdict on test WER."""

from kedro.pipeline import Pipeline

from signdistill.pipelines.runs import configured_seeds, seed_runs, seeds_verdict

COMPARISONS = [("crkd_distilled", "crkd_scratch")]


def create_pipeline(**kwargs) -> Pipeline:
    seeds = configured_seeds()
    return (seed_runs("crkd_scratch", seeds) + seed_runs("crkd_distilled", seeds, teacher="crkd_teacher")
            + seeds_verdict("crkd", COMPARISONS, seeds, "CRKD: LRINet distilled against from scratch over seeds"))
