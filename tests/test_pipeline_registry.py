"""Pipelines compose through the registry: every dataset has one producing package, and a chain gets exactly the
nodes that make what it reads."""

from __future__ import annotations

from collections import Counter

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
