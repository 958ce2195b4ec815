"""Multi-GPU / multi-machine training with PyTorch DDP, launched by ``torchrun`` from ``training.run.train_run``.

``launch_run`` persists what the run needs (its spec and inputs: paths, index, vocabulary, the teacher's
package) under ``<checkpoint_dir>/ddp``, starts ``torchrun`` over ``training.ddp_rank`` and reads back the result
that rank 0 writes; every rank rebuilds the same spec and inputs and trains through ``train_run``. The backend is
NCCL on GPUs and gloo on CPUs. For several machines (``ddp: {nnodes: N, rdzv_endpoint: host:port}``), the launch
logs the ``torchrun`` command (``torchrun_command``) to run on each other machine; the job folder and the data must
be on shared storage (docs/scaling.md).
"""

from __future__ import annotations

import csv
import json
import logging
import os
import shlex
import subprocess
import sys
from pathlib import Path

import torch.distributed as dist

from signdistill.data.features import FeatureStore
from signdistill.training.checkpoint import load_checkpoint, save_atomic
from signdistill.training.spec import DDPSpec, RunInputs, RunSpec
from signdistill.training.trainer import TrainResult

JOB_FILE = "job.json"
log = logging.getLogger(__name__)


def in_process_group() -> bool:
    return dist.is_available() and dist.is_initialized()


def write_job(spec: RunSpec, inputs: RunInputs, workdir: Path) -> Path:
    """The run's spec and inputs as files a rank reads (``read_job``)."""
    workdir.mkdir(parents=True, exist_ok=True)
    with open(workdir / "index.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(inputs.index[0]))
        writer.writeheader()
        writer.writerows(inputs.index)
    job = {"name": spec.name, "params": spec.to_params(), "store_root": str(inputs.store_root),
           "index_csv": str(workdir / "index.csv"), "vocabulary": inputs.vocabulary, "workdir": str(workdir)}
    if inputs.teacher_package is not None:
        save_atomic(inputs.teacher_package, workdir / "teacher.pt")
        job["teacher_package"] = str(workdir / "teacher.pt")
    if inputs.features is not None:  # flow and keypoints for the models that read them (SignKD)
        job["feature_root"], job["flow_size"] = str(inputs.features.root), inputs.features.flow_size
    path = workdir / JOB_FILE
    path.write_text(json.dumps(job, default=str))
    return path


def read_job(path: Path) -> tuple[RunSpec, RunInputs, Path]:
    """What ``write_job`` wrote: the spec, the inputs and the job's folder."""
    job = json.loads(Path(path).read_text())
    with open(job["index_csv"], newline="") as handle:
        index = list(csv.DictReader(handle))
    teacher = load_checkpoint(Path(job["teacher_package"])) if job.get("teacher_package") else None
    features = FeatureStore(Path(job["feature_root"]), job.get("flow_size")) if job.get("feature_root") else None
    inputs = RunInputs(Path(job["store_root"]), index, job["vocabulary"], features, teacher)
    return RunSpec.from_params(job["params"], job["name"]), inputs, Path(job["workdir"])


def torchrun_command(ddp: DDPSpec, job: Path) -> list[str]:
    """The ``torchrun`` command that trains ``job`` over ``ddp``'s processes: on one machine, or the same
    command on each of ``ddp.nnodes`` machines, meeting at ``ddp.rdzv_endpoint`` (c10d rendezvous)."""
    command = [sys.executable, "-m", "torch.distributed.run", f"--nproc-per-node={ddp.nproc_per_node}",
               f"--nnodes={ddp.nnodes}"]
    if ddp.nnodes == 1:
        command.append("--standalone")
    else:
        command += ["--rdzv-backend=c10d", f"--rdzv-endpoint={ddp.rdzv_endpoint}", f"--rdzv-id={ddp.rdzv_id}"]
    return [*command, "-m", "signdistill.training.ddp_rank", str(job)]


def torchrun_env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}


def launch_run(spec: RunSpec, inputs: RunInputs) -> TrainResult:
    """Train ``spec`` with ``torchrun`` over ``spec.ddp``'s processes; returns rank 0's result."""
    workdir = spec.checkpoint_dir / "ddp"
    job = write_job(spec, inputs, workdir)
    command = torchrun_command(spec.ddp, job)
    if spec.ddp.nnodes > 1:
        log.info("waiting for %d more machines; on each, with %s on shared storage, run: %s",
                 spec.ddp.nnodes - 1, workdir, shlex.join(["python", *command[1:]]))
    subprocess.run(command, check=True, env=torchrun_env())
    result = load_checkpoint(workdir / "result.pt")
    if result is None:
        raise RuntimeError(f"torchrun finished without a result in {workdir}")
    return TrainResult(**result)
