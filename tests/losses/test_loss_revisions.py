"""Each loss module's ``LOSS_REVISION`` moves with its code: old checkpoints are checked against it.

A checkpoint is resumed only when the run's fingerprint matches (``training.spec.run_fingerprint``), and the
fingerprint holds the revision of the losses the run trains with. A loss whose code changes while its parameters
do not would otherwise resume checkpoints trained with the old loss as if nothing had changed. So the code of each
loss module is hashed here beside the revision it computes: when the hash moves, whoever changed the
module decides whether the losses' values or gradients changed (bump ``LOSS_REVISION``) or not (a refactor), and
records the new hash below.
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import inspect

import pytest

from signdistill.training.spec import run_fingerprint

# module of signdistill.losses -> (LOSS_REVISION, hash of its code at that revision)
REVISIONS = {
    "ctc": (1, "34511b267e81dae6"),
    "crkd": (1, "0e9db3a0863f3c62"),
    "ctca": (2, "4e56d0689ebc8e82"),
    "signkd": (1, "a75a14c22698edff"),
    "smkd": (2, "5ef166caec853884"),
}


def code_hash(source: str) -> str:
    """The module's code without docstrings, comments and its ``LOSS_REVISION`` line: what computes the losses."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            node.body = body[1:] or [ast.Pass()]
    tree.body = [node for node in tree.body if not (isinstance(node, ast.Assign) and any(
        isinstance(target, ast.Name) and target.id == "LOSS_REVISION" for target in node.targets))]
    return hashlib.sha256(ast.dump(tree, include_attributes=False).encode()).hexdigest()[:16]


@pytest.mark.parametrize("name", sorted(REVISIONS))
def test_a_loss_change_bumps_its_revision(name: str) -> None:
    module = importlib.import_module(f"signdistill.losses.{name}")
    revision, recorded = REVISIONS[name]
    now = code_hash(inspect.getsource(module))
    assert module.LOSS_REVISION >= revision, f"losses/{name}.py: LOSS_REVISION went back"
    assert (module.LOSS_REVISION, now) == (revision, recorded), (
        f"signdistill/losses/{name}.py changed (code hash {now}). If its losses' values or gradients changed, bump "
        f"its LOSS_REVISION so that checkpoints trained with the old losses are not resumed; then record "
        f'"{name}": ({module.LOSS_REVISION}, "{now}") in {__file__}.')


def test_code_hash_ignores_docstrings_and_comments_only() -> None:
    code = 'def f(x):\n    return x * 2\n'
    documented = '"""Doc."""\n' + code.replace("    return", '    """Twice."""\n    # why\n    return')
    assert code_hash(code) == code_hash(documented)
    assert code_hash(code) == code_hash(code + "LOSS_REVISION = 7\n")
    assert code_hash(code) != code_hash(code.replace("2", "3"))


PARAMS = {"kind": "smkd", "store_size": 40, "crop": 36, "model": {"width": 16}}
VOCABULARY = {"glosses": ["A", "B"]}


def test_fingerprint_moves_with_each_revision(monkeypatch) -> None:
    """A bumped revision starts a run afresh: the run's own losses, CTC, and its distiller's."""
    from signdistill.losses import crkd, ctc, smkd

    distilled = {"kind": "lrinet", "store_size": 128, "crop": 112, "resize": 40, "distill": {"method": "crkd"}}
    before = run_fingerprint(PARAMS, VOCABULARY), run_fingerprint(distilled, VOCABULARY)
    for module, run in ((smkd, 0), (ctc, 0), (ctc, 1), (crkd, 1)):
        with monkeypatch.context() as patch:
            patch.setattr(module, "LOSS_REVISION", module.LOSS_REVISION + 1)
            assert run_fingerprint((PARAMS, distilled)[run], VOCABULARY) != before[run]
    assert (run_fingerprint(PARAMS, VOCABULARY), run_fingerprint(distilled, VOCABULARY)) == before


def test_fingerprints_of_existing_checkpoints_hold() -> None:
    """Runs trained before loss revisions lived beside their losses resume: their fingerprints are unchanged."""
    samples = {
        "285181b6bd23": {"kind": "baseline", "store_size": 40, "crop": 36, "model": {"width": 16}},
        "92c38e5cfb76": PARAMS,
        "da593c0b9877": {"kind": "ctca", "store_size": 40, "crop": 36, "model": {"shared_tam": 256}},
        "f0574c0a3ade": {"kind": "lrinet", "store_size": 128, "crop": 112, "resize": 40,
                         "distill": {"method": "crkd", "mse": True}},
        "24fabc513fe6": {"kind": "signkd_student", "store_size": 64, "crop": 56,
                         "distill": {"method": "signkd", "adapter": "bottleneck"}},
    }
    assert {run_fingerprint(params, VOCABULARY): params for params in samples.values()}.keys() == samples.keys()
