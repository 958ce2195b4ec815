"""Wiring of ``ablations_smkd``: every row a run of the same training and evaluation pipelines."""

from kedro.pipeline import Pipeline

from signdistill.pipelines.evaluation.pipeline import ablation_tables, evaluate_runs, train_run

# run -> (row label, the paper's PHOENIX-2014 test WER, GMACs: none reported)
TABLES = {
    "smkd_table1": {"smkd_base_nown": ("baseline", 25.4, None), "smkd_base": ("baseline + WN", 24.7, None),
                    "smkd_ws_nown": ("+ WS", 21.9, None), "smkd_ws": ("+ WS + WN", 21.4, None)},
    "smkd_table3": {"smkd_base": ("baseline", 24.7, None), "smkd_kd": ("+ KD", 23.6, None),
                    "smkd_ws": ("+ WS", 21.4, None), "smkd_gsba": ("+ GSBA", 22.0, None)},
    "smkd_table4": {"smkd_ws": ("sync", 21.4, None), "smkd_sync_dec": ("sync + dec", 21.3, None),
                    "smkd_sync_seg": ("sync + segment", 21.3, None), "smkd": ("sync + segment + dec", 21.0, None)},
}


def create_pipeline(**kwargs) -> Pipeline:
    runs = sorted({run for rows in TABLES.values() for run in rows})
    return sum((train_run(run) for run in runs), Pipeline([])) + evaluate_runs(runs) + ablation_tables(TABLES)
