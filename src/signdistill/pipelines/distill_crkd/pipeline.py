"""Wiring of ``distill_crkd``: the teacher (``teacher_crkd``), the scratch and the distilled LRINet, the report."""

from kedro.pipeline import Pipeline, node, pipeline

from signdistill.pipelines import teacher_crkd
from signdistill.pipelines.baseline.nodes import distill_recognizer
from signdistill.pipelines.distill_crkd.nodes import crkd_report
from signdistill.pipelines.evaluation.pipeline import TRAINING_INPUTS, evaluate_runs, train_run

RUNS = ("crkd_teacher", "crkd_scratch", "crkd_distilled")


def distill_run(run: str, teacher: str) -> Pipeline:
    """``<run>.model``: the student of ``<run>.recognizer`` distilled from the frozen ``<teacher>.model``."""
    training = Pipeline([node(distill_recognizer, ["frame_store", "corpus_index", "vocabulary", "teacher",
                                                   "params:recognizer"], ["model", "history"], name="distill")])
    inputs = {**{name: name for name in TRAINING_INPUTS}, "teacher": f"{teacher}.model"}
    return pipeline(training, namespace=run, inputs=inputs)


def report() -> Pipeline:
    inputs = [f"{run}.{table}" for run in RUNS for table in ("wer_table", "efficiency_table")]
    return Pipeline([node(crkd_report, inputs, ["crkd_report", "crkd_report_plot", "crkd_report_metrics"],
                          name="crkd_report")])


def create_pipeline(**kwargs) -> Pipeline:
    return (teacher_crkd.create_pipeline() + train_run("crkd_scratch") + distill_run("crkd_distilled", "crkd_teacher")
            + evaluate_runs(["crkd_scratch", "crkd_distilled"]) + report())
