"""Wiring of ``distill_signkd``: the RGB student from scratch and distilled from the SignKD teacher
(``teacher_signkd``; the registry adds it and the data stages), evaluation, the end-to-end latency and the report.
The teacher's single-stream encoders are Table 3's rows, in ``ablations_signkd``."""

from kedro.pipeline import Pipeline, node

from signdistill.pipelines.nodes import signkd_latency
from signdistill.pipelines.runs import evaluate_runs, report, train_run
from signdistill.reporting.comparison import with_end_to_end_latency

LABELS = {"signkd_teacher": "teacher (RGB + keypoints + flow)", "signkd_scratch": "RGB student, CTC only",
          "signkd_distilled": "RGB student, + S1-S4 + O"}


def create_pipeline(**kwargs) -> Pipeline:
    latency = Pipeline([node(signkd_latency, ["signkd_teacher.model", "signkd_distilled.model", "corpus_index",
                                              "params:features", "params:evaluation"], "signkd_latency",
                             name="signkd_end_to_end_latency")])
    return (train_run("signkd_scratch") + train_run("signkd_distilled", teacher="signkd_teacher", features=True)
            + evaluate_runs(["signkd_scratch", "signkd_distilled"]) + latency
            + report("signkd_report", title="SignKD: teacher, RGB student from scratch and distilled", labels=LABELS,
                     func=with_end_to_end_latency, extra_inputs=("signkd_latency",)))
