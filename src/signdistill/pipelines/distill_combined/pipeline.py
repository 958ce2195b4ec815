"""Wiring of ``distill_combined``: the low-resolution RGB student from scratch and distilled from the SignKD teacher
(``teacher_signkd``'s run, added by the registry with the data stages), a larger one distilled at no more than
LRINet's inference cost, their evaluations and the report."""

from kedro.pipeline import Pipeline

from signdistill.pipelines.runs import evaluate_runs, report, train_run

DISTILLED = ("combined_distilled", "combined_distilled_large")
RUNS = ("combined_scratch", *DISTILLED)
LABELS = {"signkd_teacher": "teacher (RGB + keypoints + flow)", "combined_scratch": "low-res RGB student, CTC only",
          "combined_distilled": "low-res RGB student, + S1-S4 + O",
          "combined_distilled_large": "larger low-res RGB student, + S1-S4 + O"}


def create_pipeline(**kwargs) -> Pipeline:
    distilled = [train_run(run, teacher="signkd_teacher", features=True) for run in DISTILLED]
    return (train_run("combined_scratch") + sum(distilled, Pipeline([])) + evaluate_runs(list(RUNS))
            + report("combined_report", title="Combined: SignKD's teacher, a low-resolution RGB student from scratch "
                     "and distilled", labels=LABELS))
