"""Wiring of ``seeds_crkd``: LRINet from scratch and distilled from the one MSTNet teacher (``teacher_crkd``, added
by the registry, trained once) over the configured seeds, and the verdict on test WER: at the configured budget,
against the scratch student at its own best recipe (``crkd_scratch_best``), and with both at that recipe
(``crkd_distilled_best``)."""

from kedro.pipeline import Pipeline

from signdistill.pipelines.runs import configured_seeds, seed_runs, seeds_verdict

COMPARISONS = [("crkd_distilled", "crkd_scratch"), ("crkd_distilled", "crkd_scratch_best"),
               ("crkd_distilled_best", "crkd_scratch_best")]


def create_pipeline(**kwargs) -> Pipeline:
    seeds = configured_seeds()
    runs = (seed_runs("crkd_scratch", seeds) + seed_runs("crkd_distilled", seeds, teacher="crkd_teacher")
            + seed_runs("crkd_scratch_best", seeds) + seed_runs("crkd_distilled_best", seeds, teacher="crkd_teacher"))
    return runs + seeds_verdict("crkd", COMPARISONS, seeds, "CRKD: LRINet distilled against from scratch over seeds")
