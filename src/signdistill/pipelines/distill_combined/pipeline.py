"""Wiring of ``distill_combined``: the low-resolution RGB student from scratch and distilled from the SignKD teacher
(``teacher_signkd``'s run, added by the registry with the data stages), their evaluations and the report."""

from kedro.pipeline import Pipeline

from signdistill.pipelines.runs import evaluate_runs, report, train_run

RUNS = ("combined_scratch", "combined_distilled")
LABELS = {"signkd_teacher": "teacher (RGB + keypoints + flow)", "combined_scratch": "low-res RGB student, CTC only",
          "combined_distilled": "low-res RGB student, + S1-S4 + O"}


def create_pipeline(**kwargs) -> Pipeline:
    return (train_run("combined_scratch") + train_run("combined_distilled", teacher="signkd_teacher", features=True)
            + evaluate_runs(list(RUNS))
            + report("combined_report", title="Combined: SignKD's teacher, a low-resolution RGB student from scratch "
                     "and distilled", labels=LABELS))
