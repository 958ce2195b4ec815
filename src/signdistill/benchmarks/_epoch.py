"""One real training epoch of a run on the preprocessed corpus, split into where its time goes: waiting for
batches (loading, augmentation, heatmap inputs), optimiser steps, the dev evaluation and the checkpoint, plus
building the run (a distilled run's teacher-target cache). Each variant of training switches trains its own
fresh copy of the run, variants one after another on the same corpus."""

from __future__ import annotations

import json
import math
import tempfile
import time
from pathlib import Path

import torch

from signdistill.benchmarks.method_seeds import run_params
from signdistill.data.features import FeatureStore
from signdistill.data.vocabulary import Vocabulary
from signdistill.paths import DataPaths
from signdistill.training.evaluate import wer_evaluator
from signdistill.training.recipes import build_model, read_index, recognizer_recipe
from signdistill.training.run import train_run
from signdistill.training.spec import RunInputs, RunSpec
from signdistill.training.trainer import Trainer

PARTS = ("build_s", "data_wait_s", "step_s", "eval_s", "checkpoint_s", "total_s")


def one_epoch(config: dict, run: str, teacher: str | None, paths: DataPaths, device: str, switches: dict,
              workdir: Path) -> dict[str, float]:
    """Seconds of each part of ``run``'s first epoch (teacher untrained: the cost does not depend on weights);
    ``switches`` set training parameters, and ``ddp`` (when given) the run's processes. A run over several
    processes trains through ``torchrun`` as its pipeline trains it; its start-up counts as building."""
    params = run_params(config, run)
    switches = dict(switches)
    if "ddp" in switches:
        params = {**params, "ddp": switches.pop("ddp")}
    if params.get("distill"):  # the cache of an untrained teacher is built here, not read from the run's own
        params = {**params, "distill": {**params["distill"], "cache_dir": str(workdir / "targets")}}
    train = {**params["train"], **switches, "device": device, "epochs": 1}
    spec = RunSpec.from_params({**params, "train": train, "checkpoint_dir": str(workdir / "checkpoints")}, run)
    vocabulary = json.loads(paths.vocabulary.read_text())
    features = FeatureStore(paths.feature_store) if params.get("streams") else None
    inputs = RunInputs(paths.frame_store, read_index(paths.corpus_index), vocabulary, features)
    start = time.perf_counter()
    teacher_model = None
    if teacher:
        torch.manual_seed(0)
        teacher_model = build_model(RunSpec.from_params(run_params(config, teacher), teacher),
                                    Vocabulary.from_dict(vocabulary))
    recipe = recognizer_recipe(spec, inputs, teacher_model)
    built = time.perf_counter()
    if spec.ddp.distributed:
        if teacher:
            raise SystemExit(f"{run}: --epoch times distilled runs in one process only (drop its ddp)")
        metrics = train_run(spec, inputs).history["epochs"][0]
        built = time.perf_counter() - metrics["training_s"] - metrics["eval_s"] - metrics["checkpoint_s"]
    else:
        evaluate = wer_evaluator(recipe.dev_set, recipe.vocabulary, rules=spec.rules)
        trainer = Trainer(recipe.model, recipe.train_set, evaluate, recipe.config, spec.checkpoint_dir)
        metrics = trainer.fit().history[0]
    total = time.perf_counter() - start
    return {"build_s": built - start, "data_wait_s": metrics["data_wait_s"],
            "step_s": metrics["training_s"] - metrics["data_wait_s"], "eval_s": metrics["eval_s"],
            "checkpoint_s": metrics["checkpoint_s"], "total_s": total,
            "steps": math.ceil(len(recipe.train_set) / (recipe.config.batch_size * spec.ddp.nproc_per_node)),
            "processes": spec.ddp.nproc_per_node, "train_videos": len(recipe.train_set)}


def epoch_breakdown(config: dict, run: str, teacher: str | None, paths: DataPaths, device: str,
                    variants: dict[str, dict]) -> dict[str, dict[str, float]]:
    """``one_epoch`` of ``run`` under each variant of training switches."""
    if not paths.corpus_index.exists():
        raise SystemExit(f"no {paths.corpus_index}: --epoch trains on the preprocessed corpus (run the "
                         "preprocess and features pipelines, or pass --data of one)")
    out = {}
    for name, switches in variants.items():
        with tempfile.TemporaryDirectory() as tmp:
            out[name] = one_epoch(config, run, teacher, paths, device, switches, Path(tmp))
    return out


def format_epochs(rows: list[dict]) -> str:
    """One line per run and variant: seconds per part of the epoch."""
    lines = [f"{'run':<18}{'path':<11}{'steps':>6}" + "".join(f"{p.removesuffix('_s'):>12}" for p in PARTS)]
    for row in rows:
        for name, parts in row["epoch"].items():
            lines.append(f"{row['run']:<18}{name:<11}{parts['steps']:>6}"
                         + "".join(f"{parts[p]:>12.2f}" for p in PARTS))
    return "\n".join(lines)


