"""Multi-GPU / multi-machine training with PyTorch DDP, launched by ``torchrun`` from the training node.

The node persists what the run needs (paths and parameters: a *spec*), starts ``torchrun`` over this
module, and reads back the result that rank 0 writes; every rank rebuilds the same recipe from the
spec. The backend is NCCL on GPUs and gloo on CPUs. For several machines, run the same ``torchrun``
command with ``--nnodes``/``--rdzv-endpoint`` on each (see ``torchrun --help``); the spec and the data
must be on shared storage.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import torch
import torch.distributed as dist

from signdistill.training.checkpoint import load_checkpoint, save_atomic


def launch(spec: dict, nproc: int, workdir: Path, nnodes: int = 1) -> dict:
    """Run ``torchrun`` with ``nproc`` processes per node on ``spec``; returns rank 0's result."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    spec_path = workdir / "spec.json"
    spec_path.write_text(json.dumps(spec, default=str))
    command = [sys.executable, "-m", "torch.distributed.run", f"--nproc-per-node={nproc}", f"--nnodes={nnodes}",
               "--standalone" if nnodes == 1 else "--rdzv-backend=c10d", "-m", "signdistill.training.distributed",
               str(spec_path)]
    subprocess.run(command, check=True, env={**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")})
    result = load_checkpoint(workdir / "result.pt")
    if result is None:
        raise RuntimeError(f"torchrun finished without a result in {workdir}")
    return result


def _train_rank(spec: dict) -> None:
    from signdistill.training.evaluate import wer_evaluator
    from signdistill.training.recipes import read_index, recognizer_recipe
    from signdistill.training.trainer import Trainer

    teacher = None
    if spec.get("teacher_package"):
        from signdistill.models.registry import load_recognizer

        teacher = load_recognizer(load_checkpoint(Path(spec["teacher_package"])))
    features = None
    if spec.get("feature_root"):  # flow and keypoints for the models that read them (SignKD)
        from signdistill.data.features import FeatureStore

        features = FeatureStore(Path(spec["feature_root"]), spec.get("flow_size"))
    recipe = recognizer_recipe(Path(spec["store_root"]), read_index(Path(spec["index_csv"])), spec["vocabulary"],
                               spec["params"], teacher, features)
    evaluate = wer_evaluator(recipe.dev_set, recipe.vocabulary, rules=spec["params"].get("rules", "none"))
    result = Trainer(recipe.model, recipe.train_set, evaluate, recipe.config, Path(spec["checkpoint_dir"])).fit()
    if dist.get_rank() == 0:
        save_atomic(result.__dict__, Path(spec["workdir"]) / "result.pt")


def main() -> None:
    spec = json.loads(Path(sys.argv[1]).read_text())
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    dist.init_process_group(backend)
    if backend == "nccl":
        torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))
    try:
        _train_rank(spec)
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
