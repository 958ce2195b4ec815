"""Wiring of ``distill_crkd``: the scratch and the distilled LRINet (the teacher comes from ``teacher_crkd``, added
by the registry), their evaluations and the report of the paper's Table V."""

from kedro.pipeline import Pipeline

from signdistill.pipelines.runs import evaluate_runs, report, train_run


def create_pipeline(**kwargs) -> Pipeline:
    return (train_run("crkd_scratch") + train_run("crkd_distilled", teacher="crkd_teacher")
            + evaluate_runs(["crkd_scratch", "crkd_distilled"])
            + report("crkd_report", title="CRKD Table V: MSTNet teacher, LRINet from scratch and distilled"))
