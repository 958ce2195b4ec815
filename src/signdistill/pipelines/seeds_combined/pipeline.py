"""Wiring of ``seeds_combined``: the combined student (``distill_combined``: SignKD's RGB student at a lower
resolution, distilled from the one multi-modal teacher) from scratch and distilled over the configured seeds, judged
against the same student from scratch, SignKD's distilled RGB student and CRKD's distilled LRINet (their seeds come
from ``seeds_signkd`` and ``seeds_crkd``, added by the registry), each cheaper or as cheap at inference; and the
larger combined student against CRKD's LRINet, still under its cost."""

from kedro.pipeline import Pipeline

from signdistill.pipelines.distill_combined.pipeline import DISTILLED
from signdistill.pipelines.runs import configured_seeds, seed_runs, seeds_verdict

COMPARISONS = [("combined_distilled", "combined_scratch"), ("combined_distilled", "signkd_distilled"),
               ("combined_distilled", "crkd_distilled"), ("combined_distilled_large", "crkd_distilled")]


def create_pipeline(**kwargs) -> Pipeline:
    seeds = configured_seeds()
    distilled = [seed_runs(run, seeds, teacher="signkd_teacher", features=True) for run in DISTILLED]
    return (seed_runs("combined_scratch", seeds) + sum(distilled, Pipeline([]))
            + seeds_verdict("combined", COMPARISONS, seeds, "The combined student over seeds"))
