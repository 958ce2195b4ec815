"""One rank of a ``torchrun`` job (``training.distributed.launch_run``): ``python -m signdistill.training.ddp_rank
<job.json>`` joins the process group and trains the job's run through ``training.run.train_run``."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import torch
import torch.distributed as dist

from signdistill.training.checkpoint import save_atomic
from signdistill.training.distributed import read_job
from signdistill.training.run import train_run


def main() -> None:
    spec, inputs, workdir = read_job(Path(sys.argv[1]))
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    dist.init_process_group(backend)
    if backend == "nccl":
        torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))
    try:
        outcome = train_run(spec, inputs)
        if dist.get_rank() == 0:
            save_atomic(outcome.result.__dict__, workdir / "result.pt")
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
