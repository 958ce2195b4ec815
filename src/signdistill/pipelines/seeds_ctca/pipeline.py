"""Wiring of ``seeds_ctca``: CTCA's full method (``ctca``, with L_cmd), its SDPN D variant (``ctca_d``, the
cross-temporal terms alone) and the dual-path network without distillation (``ctca_sdpn``) over the configured
seeds, against the baseline (``seeds_baseline``, added by the registry) and against ``ctca_sdpn``: a
distillation loss must beat its own network trained without it; against both at their own best recipes
(``student_res_best``, ``ctca_sdpn_best``); and, trained at that recipe too (``ctca_best``, ``ctca_d_best``),
against both again: the method at its best against the baseline and its own network at theirs."""

from kedro.pipeline import Pipeline

from signdistill.pipelines.runs import configured_seeds, seed_runs, seeds_verdict

COMPARISONS = [("ctca", "student_res"), ("ctca_d", "student_res"), ("ctca", "ctca_sdpn"), ("ctca_d", "ctca_sdpn"),
               ("ctca", "student_res_best"), ("ctca_d", "student_res_best"), ("ctca", "ctca_sdpn_best"),
               ("ctca_d", "ctca_sdpn_best"), ("ctca_best", "ctca_sdpn_best"), ("ctca_d_best", "ctca_sdpn_best"),
               ("ctca_best", "student_res_best"), ("ctca_d_best", "student_res_best")]
RUNS = ("ctca", "ctca_d", "ctca_sdpn", "ctca_best", "ctca_d_best", "ctca_sdpn_best")


def create_pipeline(**kwargs) -> Pipeline:
    seeds = configured_seeds()
    runs = sum((seed_runs(run, seeds) for run in RUNS), Pipeline([]))
    return runs + seeds_verdict("ctca", COMPARISONS, seeds, "CTCA against the baseline and its own SDPN over seeds")
