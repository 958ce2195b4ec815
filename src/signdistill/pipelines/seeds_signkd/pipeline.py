"""Wiring of ``seeds_signkd``: the RGB student from scratch and distilled from the one multi-modal teacher
(``teacher_signkd``, added by the registry, trained once) over the configured seeds, and the verdict on test WER."""

from kedro.pipeline import Pipeline

from signdistill.pipelines.runs import configured_seeds, seed_runs, seeds_verdict

COMPARISONS = [("signkd_distilled", "signkd_scratch")]


def create_pipeline(**kwargs) -> Pipeline:
    seeds = configured_seeds()
    return (seed_runs("signkd_scratch", seeds)
            + seed_runs("signkd_distilled", seeds, teacher="signkd_teacher", features=True)
            + seeds_verdict("signkd", COMPARISONS, seeds, "SignKD: RGB student distilled against from scratch "
                            "over seeds"))
