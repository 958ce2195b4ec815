"""Wiring of ``distill_signkd``: data stages, teacher, scratch and distilled students, evaluation, report (the
teacher's single-stream encoders are Table 3's rows, in ``ablations_signkd``)."""

from kedro.pipeline import Pipeline, node, pipeline

from signdistill.pipelines import features, preprocess, synth, teacher_signkd
from signdistill.pipelines.baseline.nodes import distill_with_features
from signdistill.pipelines.distill_signkd.nodes import REPORT_RUNS, signkd_latency, signkd_report
from signdistill.pipelines.evaluation.pipeline import TRAINING_INPUTS, evaluate_runs, train_run


def distilled_run(run: str = "signkd_distilled") -> Pipeline:
    """A student distilled from the frozen ``signkd_teacher`` with the ``<run>.recognizer`` parameters."""
    training = Pipeline([node(distill_with_features, ["frame_store", "corpus_index", "vocabulary", "feature_store",
                                                      "teacher", "params:recognizer"], ["model", "history"],
                              name="distill")])
    inputs = {**{name: name for name in TRAINING_INPUTS | {"feature_store"}}, "teacher": "signkd_teacher.model"}
    return pipeline(training, namespace=run, inputs=inputs)


def _report() -> Pipeline:
    inputs = [f"{run}.{table}" for run in REPORT_RUNS for table in ("wer_table", "efficiency_table")]
    return Pipeline([
        node(signkd_latency, ["signkd_teacher.model", "signkd_distilled.model", "corpus_index", "params:features",
                              "params:evaluation"], "signkd_latency", name="signkd_end_to_end_latency"),
        node(signkd_report, ["signkd_latency", *inputs], ["signkd_report", "signkd_report_plot",
                                                          "signkd_report_metrics"], name="signkd_report"),
    ])


def create_pipeline(**kwargs) -> Pipeline:
    data = synth.create_pipeline() + preprocess.create_pipeline() + features.create_pipeline()
    return (data + teacher_signkd.create_pipeline() + train_run("signkd_scratch") + distilled_run()
            + evaluate_runs(["signkd_scratch", "signkd_distilled"]) + _report())
