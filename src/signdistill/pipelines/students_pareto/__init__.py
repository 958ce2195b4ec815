"""``students_pareto``: every student the project trains, test WER against inference cost, the Pareto front drawn.

Its own pipeline, not a node of ``distill_combined``: it reads every method's students, so the registry adds every
method's training (the teachers of SignKD and CRKD, the baselines, SMKD, CTCA): run from a fresh clone it trains
them all. Users who ran the method pipelines draw it from their persisted evaluations alone with
``kedro run --pipelines students_pareto --nodes students_latency,students_pareto``.
"""

from signdistill.pipelines.students_pareto.pipeline import create_pipeline

__all__ = ["create_pipeline"]
