"""Pipelines compose through the registry: every dataset has one producing package, and a chain gets exactly the
nodes that make what it reads."""

from __future__ import annotations

from collections import Counter

import pytest

from signdistill.pipeline_registry import own_pipelines, register_pipelines, with_producers


def test_every_dataset_has_one_producing_pipeline() -> None:
    producers = Counter(name for pipe in own_pipelines().values() for name in pipe.all_outputs())
    assert {name: count for name, count in producers.items() if count > 1} == {}


def test_a_chain_reads_nothing_that_no_stage_makes() -> None:
    """Each registered pipeline's free inputs are parameters and the raw corpus (or nothing), so any of them runs
    from a fresh clone."""
    for name, pipe in register_pipelines().items():
        free = {d for d in pipe.inputs() if not d.startswith("params:") and d != "parameters"}
        assert free == set(), (name, free)


def test_a_method_gets_its_baseline_run_not_the_whole_baseline_pipeline() -> None:
    own = own_pipelines()
    smkd = with_producers(own["smkd"], {k: v for k, v in own.items() if k != "smkd"})
    namespaces = {n.namespace for n in smkd.nodes if n.namespace}
    assert namespaces == {"smkd", "student_res"}  # not teacher_res
    assert {"student_res.train", "student_res.decode", "smkd.train", "smkd_report"} <= {n.name for n in smkd.nodes}
    assert {"generate_synthsign", "preprocess_report", "signer_preview"} <= {n.name for n in smkd.nodes}


def test_seeds_pipelines_train_every_seed_and_share_one_teacher() -> None:
    pipelines = register_pipelines()
    crkd = pipelines["seeds_crkd"]
    namespaces = {n.namespace for n in crkd.nodes if n.namespace}
    seeds = range(5)  # conf/base/parameters.yml: seeds
    kinds = ("scratch", "distilled", "scratch_best")
    assert {f"crkd_{kind}_seed{s}" for kind in kinds for s in seeds} | {"crkd_teacher"} == namespaces
    distilled = [n for n in crkd.nodes if n.name.endswith(".distill")]
    assert len(distilled) == 5 and all("crkd_teacher.model" in n.inputs for n in distilled)
    assert {"params:crkd_distilled.recognizer"} == {i for n in distilled for i in n.inputs if "recognizer" in i}
    verdict = next(n for n in crkd.nodes if n.name == "crkd_seeds_verdict")
    assert verdict.outputs == ["crkd_seeds", "crkd_seeds_plot", "crkd_seeds_metrics"] and len(verdict.inputs) == 20
    assert "crkd_distilled_best.distill" in {n.name for n in pipelines["ablations_crkd"].nodes}
    smkd = {n.namespace for n in pipelines["seeds_smkd"].nodes if n.namespace}
    assert {f"student_res{best}_seed{s}" for s in seeds for best in ("", "_best")} <= smkd and "student_res" not in smkd
    ctca = next(n for n in pipelines["seeds_ctca"].nodes if n.name == "ctca_seeds_verdict")
    assert {"ctca_sdpn_seed4.wer_metrics", "ctca_d_seed0.wer_metrics", "student_res_best_seed3.wer_metrics",
            "ctca_sdpn_best_seed1.wer_metrics", "ctca_best_seed2.wer_metrics", "ctca_d_best_seed4.wer_metrics"} <= set(
        ctca.inputs)
    signkd = pipelines["seeds_signkd"]
    assert sum(n.name == "signkd_teacher.train" for n in signkd.nodes) == 1
    combined = pipelines["seeds_combined"]  # against seeds of other methods' students, their teachers trained once
    verdict = next(n for n in combined.nodes if n.name == "combined_seeds_verdict")
    assert {"signkd_distilled_seed2.wer_metrics", "crkd_distilled_seed2.wer_metrics",
            "combined_distilled_large_seed4.wer_metrics"} <= set(verdict.inputs)
    assert sum(n.name in ("signkd_teacher.train", "crkd_teacher.train") for n in combined.nodes) == 2


def test_the_combined_student_shares_the_signkd_teacher() -> None:
    """``distill_combined`` trains no teacher of its own: it gets ``distill_signkd``'s run (the same nodes, so one
    checkpoint), and where both students are in one pipeline (``students_pareto``, what Kedro-Viz draws) that one
    teacher model feeds both distillations."""
    pipes = register_pipelines()
    combined, signkd = pipes["distill_combined"], pipes["distill_signkd"]
    teacher = {n for n in combined.nodes if n.namespace == "signkd_teacher"}
    assert teacher and teacher == {n for n in signkd.nodes if n.namespace == "signkd_teacher"}
    assert {n.namespace for n in combined.nodes if n.namespace} == {"signkd_teacher", "combined_scratch",
                                                                     "combined_distilled", "combined_distilled_large"}
    readers = {n.name for n in pipes["students_pareto"].nodes if "signkd_teacher.model" in n.inputs}
    assert {"signkd_distilled.distill", "combined_distilled.distill", "combined_distilled_large.distill"} <= readers


def test_every_combined_run_is_filed_and_quoted_as_the_combined_method() -> None:
    """The runs ``distill_combined`` trains are SignKD networks, yet MLflow files them under ``Combined`` and the
    combined report quotes each: both read the combined paper table, which must list exactly the pipeline's runs."""
    from signdistill.pipelines.distill_combined.pipeline import RUNS
    from signdistill.pipelines.tracking import method_of
    from signdistill.reporting.papers import report_rows

    assert {run: method_of({"kind": "signkd_student"}, run) for run in RUNS} == dict.fromkeys(RUNS, "Combined")
    assert set(report_rows("combined_report")) == {"signkd_teacher", *RUNS}


def test_runs_left_out_are_neither_trained_nor_judged(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    """``seeds_left_out`` drops a run's seeds and every comparison with it, which the verdict lists as not judged."""
    from signdistill.pipelines.seeds_ctca import create_pipeline

    base = tmp_path / "conf" / "base"
    base.mkdir(parents=True)
    (base / "parameters.yml").write_text("seeds: [0, 1]\nseeds_left_out: [ctca_best, ctca_d_best]\n"
                                         "ctca_best: {recognizer: {}}\nctca_d_best: {recognizer: {}}\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KEDRO_ENV", raising=False)
    pipe = create_pipeline()
    namespaces = {n.namespace for n in pipe.nodes if n.namespace}
    assert {f"{run}_seed{s}" for run in ("ctca", "ctca_d", "ctca_sdpn", "ctca_sdpn_best") for s in (0, 1)} == namespaces
    verdict = next(n for n in pipe.nodes if n.name == "ctca_seeds_verdict")
    assert len(verdict.func.keywords["comparisons"]) == 8 and len(verdict.inputs) == 8 * 2 * 2
    assert verdict.func.keywords["left_out"] == [("ctca_best", "ctca_sdpn_best"), ("ctca_d_best", "ctca_sdpn_best"),
                                                 ("ctca_best", "student_res_best"), ("ctca_d_best", "student_res_best")]
    (base / "parameters_wrong.yml").write_text("seeds_left_out: ctca_best\n")
    with pytest.raises(ValueError, match="seeds_left_out: expected a list of run names"):
        create_pipeline()
    (base / "parameters_wrong.yml").write_text("seeds_left_out: [ctca_bets]\n")  # misspelt: would train after all
    with pytest.raises(ValueError, match=r"seeds_left_out: no run named \['ctca_bets'\]"):
        create_pipeline()
    (base / "parameters_wrong.yml").write_text("seeds: [0, 1, 0]\n")
    with pytest.raises(ValueError, match=r"seeds: each seed once, got \[0, 1, 0\]"):
        create_pipeline()
