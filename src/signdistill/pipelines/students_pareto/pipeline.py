"""Wiring of ``students_pareto``: each student's model (timed video in, glosses out on one test video) and its
evaluation tables (WER, parameters, MACs) -> ``students_pareto.csv`` / ``.png``. The runs' producers come from the
registry."""

from kedro.pipeline import Pipeline, node

from signdistill.pipelines.nodes import students_latency
from signdistill.pipelines.runs import named
from signdistill.reporting.pareto import STUDENT_LABELS, students_pareto

# every student the main pipelines train
STUDENTS = {run: STUDENT_LABELS[run] for run in (
    "teacher_res", "student_res", "smkd", "ctca", "crkd_scratch", "crkd_distilled", "signkd_scratch",
    "signkd_distilled", "combined_scratch", "combined_distilled", "combined_distilled_large")}
TITLE = "Every student: test WER against inference cost (red: the Pareto front)"


def create_pipeline(**kwargs) -> Pipeline:
    runs = list(STUDENTS)
    tables = [f"{run}.{table}" for run in runs for table in ("wer_table", "efficiency_table")]
    return Pipeline([
        node(named(students_latency, runs=runs),
             ["corpus_index", "params:features", "params:evaluation", *[f"{run}.model" for run in runs]],
             "students_latency", name="students_latency"),
        node(named(students_pareto, runs=runs, labels=STUDENTS, title=TITLE), ["students_latency", *tables],
             ["students_pareto", "students_pareto_plot"], name="students_pareto"),
    ])
