"""The papers' numbers, said once: every table the reports quote, by report name, as ``{run: PaperRow}``.

For orientation only: each paper reports its own data set (PHOENIX-2014 for CRKD, SMKD and CTCA, PHOENIX-2014T
for SignKD) at its own scale, so only the direction of a difference compares with this corpus. Runs are our run
names (``conf/base/parameters_*.yml``); labels name the rows as the papers do. "GFlops" in the CRKD paper are MACs.
"""

from __future__ import annotations

from typing import NamedTuple


class PaperRow(NamedTuple):
    label: str
    wer: float | None = None  # test WER (%)
    gmacs: float | None = None
    params_m: float | None = None


PAPER_TABLES: dict[str, dict[str, PaperRow]] = {
    # CRKD (PHOENIX-2014 test, 224 px teacher, 72 px LRINet, 200 frames): Table V, the main result.
    "crkd_table5": {"crkd_teacher": PaperRow("MSTNet teacher", 21.4, 736.5, 120.3),
                    "crkd_scratch": PaperRow("LRINet, multi-level CTC", 22.7, 257.0, 10.5),
                    "crkd_distilled": PaperRow("CRKD (LRINet distilled)", 20.9, 257.0, 10.5)},
    # Table VII (losses); crkd_ctc_distilled is not in the paper: distillation without the multi-level heads.
    "crkd_table7": {"crkd_ctc": PaperRow("CTC", 25.1), "crkd_scratch": PaperRow("multi-level CTC", 22.7),
                    "crkd_mse": PaperRow("+ MSE", 21.3), "crkd_distilled": PaperRow("+ KLD", 20.9),
                    "crkd_ctc_distilled": PaperRow("CTC + MSE + KLD")},
    # Table VIII (input resolution): the paper's 56 / 72 / 88 / 104 px are 32 / 40 / 48 / 56 px here.
    "crkd_table8": {"crkd_r32": PaperRow("32 px (paper 56)", 22.0, 170.4),
                    "crkd_distilled": PaperRow("40 px (paper 72)", 20.9, 257.0),
                    "crkd_r48": PaperRow("48 px (paper 88)", 21.1, 366.3),
                    "crkd_r56": PaperRow("56 px (paper 104)", 21.1, 498.1)},
    # Fig. 1 at the student resolution; the figure gives no exact WERs, so none are quoted.
    "crkd_fig1": {"crkd_scratch": PaperRow("no feature KD (LRINet)"),
                  "crkd_method1": PaperRow("method 1 (upsampled maps)"),
                  "crkd_distilled": PaperRow("method 2 (LRINet)")},
    # SMKD (PHOENIX-2014 test): Tables 1 (weight normalisation), 3 (KD methods), 4 (training stages).
    "smkd_table1": {"smkd_base_nown": PaperRow("baseline", 25.4), "smkd_base": PaperRow("baseline + WN", 24.7),
                    "smkd_ws_nown": PaperRow("+ WS", 21.9), "smkd_ws": PaperRow("+ WS + WN", 21.4)},
    "smkd_table3": {"smkd_base": PaperRow("baseline", 24.7), "smkd_kd": PaperRow("+ KD", 23.6),
                    "smkd_ws": PaperRow("+ WS", 21.4), "smkd_gsba": PaperRow("+ GSBA", 22.0)},
    "smkd_table4": {"smkd_ws": PaperRow("sync", 21.4), "smkd_sync_dec": PaperRow("sync + dec", 21.3),
                    "smkd_sync_seg": PaperRow("sync + segment", 21.3), "smkd": PaperRow("sync + segment + dec", 21.0)},
    # CTCA (PHOENIX-2014 test): Table 5; "Vanilla" (two separate networks) is not an SDPN variant and is not built.
    "ctca_table5": {"student_res": PaperRow("baseline", 22.1), "ctca_sdpn": PaperRow("SDPN (no KD)", 21.8),
                    "ctca_a": PaperRow("SDPN A", 21.1), "ctca_a_no_i": PaperRow("SDPN A - I", 21.5),
                    "ctca_b": PaperRow("SDPN B", 20.7), "ctca_c": PaperRow("SDPN C", 20.6),
                    "ctca_d": PaperRow("SDPN D", 20.4), "ctca_d_no_w": PaperRow("SDPN D - w", 20.6),
                    "ctca_e": PaperRow("SDPN E", 21.0), "ctca": PaperRow("CTCA", 20.1)},
    # SignKD (PHOENIX-2014T test): Table 3 (the teacher's encoders and fusions), Table 4(b) (the student's losses).
    "signkd_table3": {"skd_ve": PaperRow("VE", 21.8), "skd_ke": PaperRow("KE", 25.2), "skd_fe": PaperRow("FE", 30.8),
                      "skd_ve_ke": PaperRow("VE + KE", 21.0), "skd_no_fusion": PaperRow("VE + KE + FE", 20.3),
                      "skd_m1": PaperRow("+ M1 (MLP)", 19.5), "skd_m12": PaperRow("+ M1-M2", 18.9),
                      "skd_m123": PaperRow("+ M1-M3", 18.5), "signkd_teacher": PaperRow("+ M1-M4", 18.1),
                      "skd_attention": PaperRow("M1-M4 attention", 18.8),
                      "skd_conv": PaperRow("M1-M4 convolution", 19.0)},
    "signkd_table4b": {"signkd_scratch": PaperRow("CTC", 21.8), "skd_s1": PaperRow("+ S1", 21.3),
                       "skd_s12": PaperRow("+ S1-S2", 21.0), "skd_s123": PaperRow("+ S1-S3", 20.7),
                       "skd_s1234": PaperRow("+ S1-S4", 20.3), "signkd_distilled": PaperRow("+ S1-S4 + O", 19.9)},
    # distill_combined: no paper combines SignKD's teacher with a low-resolution student, so the students have no
    # paper row (their report quotes the teacher from SignKD's Table 3).
    "combined": {"combined_scratch": PaperRow("low-resolution RGB student, CTC"),
                 "combined_distilled": PaperRow("low-resolution RGB student, + S1-S4 + O"),
                 "combined_distilled_large": PaperRow("larger low-resolution RGB student, + S1-S4 + O")},
}

# Each method's main report: our run -> (the table, the run whose paper row it is quoted with). SMKD and CTCA
# distil inside one network: their baseline is our student_res at the same resolution.
MAIN_REPORTS: dict[str, dict[str, dict[str, tuple[str, str]]]] = {
    "SignKD": {"signkd_report": {"signkd_teacher": ("signkd_table3", "signkd_teacher"),
                                 "signkd_scratch": ("signkd_table4b", "signkd_scratch"),
                                 "signkd_distilled": ("signkd_table4b", "signkd_distilled")}},
    "CRKD": {"crkd_report": {run: ("crkd_table5", run) for run in ("crkd_teacher", "crkd_scratch", "crkd_distilled")}},
    "SMKD": {"smkd_report": {"student_res": ("smkd_table3", "smkd_base"), "smkd": ("smkd_table4", "smkd")}},
    "CTCA": {"ctca_report": {"student_res": ("ctca_table5", "student_res"), "ctca": ("ctca_table5", "ctca")}},
    "Combined": {"combined_report": {"signkd_teacher": ("signkd_table3", "signkd_teacher"),
                                     **{run: ("combined", run) for run in PAPER_TABLES["combined"]}}},
}


def report_rows(report: str) -> dict[str, PaperRow]:
    """``{run: PaperRow}`` of a main report (``signkd_report``, ...) or an ablation table (``smkd_table1``, ...)."""
    if report in PAPER_TABLES:
        return PAPER_TABLES[report]
    for reports in MAIN_REPORTS.values():
        if report in reports:
            return {run: PAPER_TABLES[table][row] for run, (table, row) in reports[report].items()}
    raise KeyError(f"no paper table {report!r}; known: {sorted(PAPER_TABLES)} and the main reports")


def paper_wer() -> dict[str, dict[str, float]]:
    """``{method: {run: the paper's test WER}}`` of each method's main report."""
    return {method: {run: row.wer for name in reports for run, row in report_rows(name).items()
                     if row.wer is not None} for method, reports in MAIN_REPORTS.items()}


def paper_numbers(rows: dict[str, PaperRow]) -> dict[str, dict[str, float | None]]:
    """``{run: {"wer", "gmacs", "params_m"}}``: the rows as ``reporting.comparison.compare_runs`` quotes them."""
    return {run: {"wer": row.wer, "gmacs": row.gmacs, "params_m": row.params_m} for run, row in rows.items()}
