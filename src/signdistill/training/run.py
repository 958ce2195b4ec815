"""The one function that trains a run.

The Kedro training node, every rank of a ``torchrun`` job (``training.ddp_rank``) and the benchmarks that train
runs (``method_seeds``, ``time_to_accuracy``) all call ``train_run`` with a ``RunSpec`` and its ``RunInputs``
(``training.spec``); with ``ddp`` over more than one process it launches ``torchrun`` over the persisted spec and
inputs (``training.distributed``), whose ranks call it again inside their process group.
"""

from __future__ import annotations

from dataclasses import dataclass

from signdistill.models.registry import load_recognizer
from signdistill.training import distributed
from signdistill.training.evaluate import wer_evaluator
from signdistill.training.recipes import recognizer_recipe
from signdistill.training.spec import RunInputs, RunSpec
from signdistill.training.trainer import EpochCallback, Trainer, TrainResult


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
