"""Wiring of ``ablations_crkd``: every ablation row is a run of the same training and evaluation pipelines."""

from kedro.pipeline import Pipeline

from signdistill.pipelines import distill_crkd
from signdistill.pipelines.distill_crkd.pipeline import distill_run
from signdistill.pipelines.evaluation.pipeline import ablation_tables, evaluate_runs, train_run

# rows: run name -> (label, the paper's test WER, GMACs) for orientation (PHOENIX-2014, 200 frames)
TABLE_VII = {"crkd_ctc": ("CTC", 25.1, None), "crkd_scratch": ("multi-level CTC", 22.7, None),
             "crkd_mse": ("+ MSE", 21.3, None), "crkd_distilled": ("+ KLD", 20.9, None),
             # not in the paper: does the distillation help without the multi-level heads?
             "crkd_ctc_distilled": ("CTC + MSE + KLD", None, None)}
TABLE_VIII = {"crkd_r32": ("32 px (paper 56)", 22.0, 170.4), "crkd_distilled": ("40 px (paper 72)", 20.9, 257.0),
              "crkd_r48": ("48 px (paper 88)", 21.1, 366.3), "crkd_r56": ("56 px (paper 104)", 21.1, 498.1)}
# Fig. 1 at the student resolution: no feature distillation, method 1 (the teacher's network on low-resolution
# frames, maps upsampled for the MSE) and method 2 (LRINet). The figure gives no exact WERs: none are quoted.
FIG_1 = {"crkd_scratch": ("no feature KD (LRINet)", None, None),
         "crkd_method1": ("method 1 (upsampled maps)", None, None),
         "crkd_distilled": ("method 2 (LRINet)", None, None)}


def create_pipeline(**kwargs) -> Pipeline:
    extra = ["crkd_mse", "crkd_r32", "crkd_r48", "crkd_r56", "crkd_method1", "crkd_ctc_distilled"]
    return (distill_crkd.create_pipeline() + train_run("crkd_ctc")
            + sum((distill_run(run, "crkd_teacher") for run in extra), Pipeline([]))
            + evaluate_runs(["crkd_ctc", *extra])
            + ablation_tables({"crkd_table7": TABLE_VII, "crkd_table8": TABLE_VIII, "crkd_fig1": FIG_1}))
