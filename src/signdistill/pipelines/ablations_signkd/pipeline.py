"""Wiring of ``ablations_signkd``: every row a run of the same training and evaluation pipelines."""

from kedro.pipeline import Pipeline

from signdistill.pipelines import distill_signkd
from signdistill.pipelines.distill_signkd.pipeline import distilled_run
from signdistill.pipelines.evaluation.pipeline import ablation_tables, evaluate_runs
from signdistill.pipelines.teacher_signkd.pipeline import teacher_run

# run -> (row label, the paper's PHOENIX-2014T test WER, GMACs: none reported)
TABLE_3 = {"skd_ve": ("VE", 21.8, None), "skd_ke": ("KE", 25.2, None), "skd_fe": ("FE", 30.8, None),
           "skd_ve_ke": ("VE + KE", 21.0, None), "skd_no_fusion": ("VE + KE + FE", 20.3, None),
           "skd_m1": ("+ M1 (MLP)", 19.5, None), "skd_m12": ("+ M1-M2", 18.9, None),
           "skd_m123": ("+ M1-M3", 18.5, None), "signkd_teacher": ("+ M1-M4", 18.1, None),
           "skd_attention": ("M1-M4 attention", 18.8, None), "skd_conv": ("M1-M4 convolution", 19.0, None)}
TABLE_4B = {"signkd_scratch": ("CTC", 21.8, None), "skd_s1": ("+ S1", 21.3, None), "skd_s12": ("+ S1-S2", 21.0, None),
            "skd_s123": ("+ S1-S3", 20.7, None), "skd_s1234": ("+ S1-S4", 20.3, None),
            "signkd_distilled": ("+ S1-S4 + O", 19.9, None)}


def create_pipeline(**kwargs) -> Pipeline:
    teachers = [run for run in TABLE_3 if run != "signkd_teacher"]  # distill_signkd trains the full teacher
    students = [run for run in TABLE_4B if run not in ("signkd_scratch", "signkd_distilled")]
    return (distill_signkd.create_pipeline() + sum((teacher_run(run) for run in teachers), Pipeline([]))
            + sum((distilled_run(run) for run in students), Pipeline([]))
            + evaluate_runs(teachers, features=True) + evaluate_runs(students)
            + ablation_tables({"signkd_table3": TABLE_3, "signkd_table4b": TABLE_4B}))
