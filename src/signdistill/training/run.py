"""The one function that trains a run.

The Kedro training node, every rank of a ``torchrun`` job (``training.ddp_rank``) and the benchmarks that train
runs (``method_seeds``, ``time_to_accuracy``) all call ``train_run`` with a ``RunSpec`` and its ``RunInputs``
(``training.spec``); with ``ddp`` over more than one process it launches ``torchrun`` over the persisted spec and
inputs (``training.distributed``), whose ranks call it again inside their process group.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

from signdistill.data.atomic import atomic_write
from signdistill.errors import InputError
from signdistill.models.registry import load_recognizer
from signdistill.training import distributed
from signdistill.training.checkpoint import LAST, load_checkpoint
from signdistill.training.evaluate import wer_evaluator
from signdistill.training.recipes import recognizer_recipe
from signdistill.training.seeds import seed_run_name, split_seed_run
from signdistill.training.spec import RunInputs, RunSpec
from signdistill.training.trainer import EpochCallback, Trainer, TrainResult

log = logging.getLogger(__name__)


@dataclass
class RunOutcome:
    """The trained recogniser's package (a distiller's student; None on DDP ranks other than 0), its history and
    the trainer's result."""

    package: dict | None
    history: dict
    result: TrainResult


def train_run(spec: RunSpec, inputs: RunInputs, on_epoch: EpochCallback | None = None) -> RunOutcome:
    """Train ``spec`` on ``inputs`` and keep the best epoch by dev WER; a killed run resumes from its last
    checkpoint. With ``spec.ddp`` over more than one process, ``torchrun`` trains it (``training.distributed``),
    each rank through this same function."""
    if not distributed.in_process_group():  # a torchrun rank finds what its launcher adopted
        adopt_twin(spec, spec.fingerprint(inputs.vocabulary))
    teacher = load_recognizer(inputs.teacher_package) if inputs.teacher_package is not None else None
    recipe = recognizer_recipe(spec, inputs, teacher)
    if spec.ddp.distributed and not distributed.in_process_group():
        result = distributed.launch_run(spec, inputs)
    else:
        evaluate = wer_evaluator(recipe.dev_set, recipe.vocabulary, rules=spec.rules)
        result = Trainer(recipe.model, recipe.train_set, evaluate, recipe.config, spec.checkpoint_dir,
                         on_epoch=on_epoch).fit()
    history = {"epochs": result.history, "best_epoch": result.best_epoch, "best_dev_wer": result.best_dev_wer,
               "skipped_batches": result.skipped_batches}
    # a DDP rank other than 0 keeps no best weights: it has no package to give
    package = recipe.package(result.best_state, inputs.vocabulary) if result.best_state is not None else None
    return RunOutcome(package, history, result)


def twin_dir(spec: RunSpec) -> Path:
    """Where the same run under its other name keeps its checkpoints: ``smkd_seed0``'s for ``smkd`` (at its
    configured seed), ``smkd``'s for ``smkd_seed0`` (``RunSpec.with_seed``)."""
    folder = spec.checkpoint_dir
    base, seed = split_seed_run(folder.name)
    return folder.with_name(base if seed is not None else seed_run_name(folder.name, spec.train.seed))


def adopt_twin(spec: RunSpec, fingerprint: str) -> Path | None:
    """A run with no checkpoint of its own starts from its twin's (``twin_dir``) when the twin's has the same
    fingerprint: then the twin is this very run (where a run lives does not count, its seed does), so a main
    pipeline does not train again what a seeds pipeline trained at the same seed, nor the other way round. A
    finished twin makes this run finished; an unfinished one, resumed where it stopped. Returns the twin adopted."""
    own, twin = spec.checkpoint_dir / LAST, twin_dir(spec) / LAST
    if own.exists() or not twin.exists():
        return None
    try:
        state = load_checkpoint(twin)
    except InputError as error:  # a damaged twin is its own run's problem: train this one afresh
        log.warning("not adopting %s: %s", twin, error)
        return None
    if state is None or state.get("fingerprint") != fingerprint:
        return None
    own.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(own, lambda tmp: shutil.copyfile(twin, tmp))
    log.info("%s: adopted %s, the same run trained under another name (%d epochs done)", spec.name, twin,
             int(state["epoch"]) + 1)
    return twin.parent
