"""Wiring of ``ablations_crkd``: CRKD's Tables VII (losses) and VIII (resolution) and Fig. 1 (feature KD methods),
the runs ``distill_crkd`` does not train, and their reports."""

from kedro.pipeline import Pipeline

from signdistill.pipelines.runs import ablation_tables, evaluate_runs, train_run

# crkd_distilled_best: the distilled student at the scratch student's best recipe (seeds_crkd judges against that)
DISTILLED = ["crkd_mse", "crkd_r32", "crkd_r48", "crkd_r56", "crkd_method1", "crkd_ctc_distilled",
             "crkd_distilled_best"]


def create_pipeline(**kwargs) -> Pipeline:
    return (train_run("crkd_ctc") + sum((train_run(run, teacher="crkd_teacher") for run in DISTILLED), Pipeline([]))
            + evaluate_runs(["crkd_ctc", *DISTILLED])
            + ablation_tables(["crkd_table7", "crkd_table8", "crkd_fig1"]))
