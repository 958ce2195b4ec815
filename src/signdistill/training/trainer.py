"""The training loop shared by every method.

Models return ``{"losses": {name: tensor}, ...}``; the loop sums the terms with the configured weights
(missing weight = 1). Each epoch ends with an atomic checkpoint of everything needed to continue (model,
optimiser, scheduler, AMP scaler, history, best model); a run that is killed resumes from the last
completed epoch and, because every random draw is derived from (seed, epoch), reaches the same result.
A batch whose loss is NaN or infinite is skipped and counted, never trained on.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from signdistill.data.buckets import epoch_batches, stored_lengths
from signdistill.data.clips import SignClipDataset, collate_clips
from signdistill.errors import InputError
from signdistill.models.numerics import flush_denormals
from signdistill.training.checkpoint import LAST, load_checkpoint, save_atomic

log = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    epochs: int = 10
    batch_size: int = 2
    lr: float = 1e-4
    weight_decay: float = 1e-4
    optimizer: str = "adam"  # adam | adamw | sgd
    schedule: str = "multistep"  # multistep | cosine | constant
    milestones: list[int] = field(default_factory=lambda: [40, 60])
    gamma: float = 0.2
    grad_clip: float = 0.0  # 0 = off
    amp: bool = True  # used on CUDA only
    loss_weights: dict[str, float] = field(default_factory=dict)
    seed: int = 0
    num_workers: int = 0
    device: str = "auto"
    run_fingerprint: str = ""  # everything else the run was built from (training.spec.run_fingerprint)
    # How fast, not what is learnt (see SPEED_ONLY): the optimiser's kernel (auto: torch's choice, foreach on CUDA
    # and a loop on the CPU | loop: ops per tensor | foreach: each op over all tensors | fused: one C++ pass per
    # tensor), convolution weights in channels-last layout, batches in pinned memory (CUDA), subnormal floats
    # flushed to zero on the CPU (Gaussian heatmap tails, near-still flow, Adam's squared small gradients and
    # their products are subnormal, and every CPU operation on a subnormal takes a slow microcode path)
    optimizer_kernel: str = "fused"
    channels_last: bool = False
    pin_memory: bool = True
    flush_denormal: bool = True
    # What is learnt from a cheaper epoch: dev evaluation every k epochs (and always after the last), batches of
    # similar stored lengths (shuffled within windows of ``length_buckets`` batches; 0 = plain shuffle): a batch
    # is padded to its longest clip, and each padded frame costs a full forward and backward. Buckets are off:
    # on the default corpus they saved little of an epoch and trained SMKD worse at the same seeds
    # (docs/benchmarks.md, "What makes a CPU epoch fast").
    eval_every: int = 1
    length_buckets: int = 0

    def fingerprint(self) -> str:
        """What a checkpoint must match to be resumed: the switches of SPEED_ONLY do not count, nor the other
        speed switches at their defaults (a checkpoint written before they existed resumes)."""
        kept = {k: v for k, v in asdict(self).items()
                if k not in SPEED_ONLY and not (k in LEARNING_SWITCHES and v == LEARNING_SWITCHES[k])}
        return hashlib.sha1(json.dumps(kept, sort_keys=True).encode()).hexdigest()[:12]


# Switches that change only how fast a step runs (the same maths, up to float rounding of a fused kernel)
SPEED_ONLY = ("optimizer_kernel", "channels_last", "pin_memory", "flush_denormal")
# Speed switches that change what an epoch trains on or when the best epoch is picked, at the values that every
# run had before they existed (so those runs' checkpoints keep their fingerprints)
LEARNING_SWITCHES = {"eval_every": 1, "length_buckets": 0}
# Every speed switch off: the plain reference path that the benchmark's ``--compare`` times against
REFERENCE_PATH = {"optimizer_kernel": "auto", "channels_last": False, "pin_memory": False, "flush_denormal": False}
# ... and the plain recipe around it: batches of 2 in one process, every epoch evaluated, no length buckets
REFERENCE_RECIPE = {**REFERENCE_PATH, "batch_size": 2, "eval_every": 1, "length_buckets": 0}


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device(f"cuda:{torch.cuda.current_device()}" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def world() -> tuple[int, int]:
    """(rank, world size): (0, 1) unless running under ``torchrun`` with a process group."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


OPTIMIZER_KERNELS = {"auto": {}, "loop": {"foreach": False}, "foreach": {"foreach": True}, "fused": {"fused": True}}


def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    if config.optimizer_kernel not in OPTIMIZER_KERNELS:
        raise ValueError(f"unknown optimizer_kernel {config.optimizer_kernel!r} ({' | '.join(OPTIMIZER_KERNELS)})")
    kernel = OPTIMIZER_KERNELS[config.optimizer_kernel]
    if config.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay, **kernel)
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay, **kernel)
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=config.lr, momentum=0.9, weight_decay=config.weight_decay, **kernel)
    raise ValueError(f"unknown optimizer {config.optimizer!r} (adam | adamw | sgd)")


def to_channels_last(model: nn.Module) -> nn.Module:
    """Convolution weights in channels-last layout (2-D: NHWC, 3-D: NDHWC), which oneDNN and cuDNN convolve
    without reordering; activations follow the weights' layout through each convolution."""
    for param in model.parameters():
        if param.dim() in (4, 5):
            layout = torch.channels_last if param.dim() == 4 else torch.channels_last_3d
            param.data = param.data.contiguous(memory_format=layout)
    return model


# oneDNN's CPU backward of a 1x1 stride-2 convolution on channels-last activations with few input channels (a
# thin ResNet's downsample) corrupts the heap: seen at 4, 8 and 16 channels (models/baseline.py), not looked for at
# the paper width of 64 and above, which stays allowed
THIN_DOWNSAMPLE_CHANNELS = 64


def refuse_unsafe_channels_last(model: nn.Module, device: torch.device) -> None:
    """Refuse, naming the layer, a channels-last run on the CPU that trains a thin 1x1 stride-2 convolution: it
    would end in a segfault or a glibc abort mid-epoch rather than an error. Frozen layers (a distiller's
    teacher) only run forward and are safe."""
    if device.type != "cpu":
        return
    for name, module in model.named_modules():
        if (isinstance(module, nn.Conv2d) and module.kernel_size == (1, 1) and module.stride == (2, 2)
                and module.in_channels < THIN_DOWNSAMPLE_CHANNELS and module.weight.requires_grad):
            raise InputError(
                f"channels_last: true cannot train {name!r} (a 1x1 stride-2 convolution on {module.in_channels} "
                f"channels) on the CPU: oneDNN's backward of it corrupts the heap; set channels_last: false for "
                f"this run")


def make_scheduler(optimizer: torch.optim.Optimizer, config: TrainConfig) -> torch.optim.lr_scheduler.LRScheduler:
    """Stepped once per epoch, as the papers' schedules are stated in epochs."""
    if config.schedule == "multistep":
        return torch.optim.lr_scheduler.MultiStepLR(optimizer, config.milestones, config.gamma)
    if config.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(config.epochs, 1))
    if config.schedule == "constant":
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda _: 1.0)
    raise ValueError(f"unknown schedule {config.schedule!r} (multistep | cosine | constant)")


def move_batch(batch: dict, device: torch.device) -> dict:
    return {k: v.to(device, non_blocking=True) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}


def weighted_loss(losses: dict[str, torch.Tensor], weights: dict[str, float]) -> torch.Tensor:
    return sum(weights.get(name, 1.0) * value for name, value in losses.items())


@dataclass
class TrainResult:
    history: list[dict]
    best_epoch: int
    best_dev_wer: float
    skipped_batches: int
    best_state: dict


EpochCallback = Callable[[int, dict], None]
Evaluator = Callable[[nn.Module], dict]  # model -> {"wer": float, ...} on the dev set


class Trainer:
    """Train ``model`` on ``train_set``, pick the best epoch by ``evaluate`` (dev WER)."""

    def __init__(self, model: nn.Module, train_set: SignClipDataset, evaluate: Evaluator, config: TrainConfig,
                 checkpoint_dir: Path, on_epoch: EpochCallback | None = None) -> None:
        self.config = config
        self.device = resolve_device(config.device)
        self.model = model.to(self.device)
        if config.channels_last:
            refuse_unsafe_channels_last(self.model, self.device)
            to_channels_last(self.model)
        self.rank, self.world_size = world()
        self.train_model: nn.Module = self.model
        if self.world_size > 1:  # gradients are averaged over ranks: the global batch is world x batch_size
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.train_model = DistributedDataParallel(self.model, device_ids=ids)
        self.train_set = train_set
        self.evaluate = evaluate
        self.checkpoint_dir = Path(checkpoint_dir)
        self.on_epoch = on_epoch or (lambda epoch, metrics: None)
        self.optimizer = make_optimizer(self.model, config)
        self.scheduler = make_scheduler(self.optimizer, config)
        self.use_amp = config.amp and self.device.type == "cuda"
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.use_amp)
        self.history: list[dict] = []
        self.best = {"epoch": -1, "wer": math.inf, "state": None}
        self.skipped = 0
        self.start_epoch = 0

    @property
    def last_path(self) -> Path:
        return self.checkpoint_dir / LAST

    def _state(self, epoch: int) -> dict:
        return {"epoch": epoch, "fingerprint": self.config.fingerprint(), "model": self.model.state_dict(),
                "optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
                "scaler": self.scaler.state_dict(), "history": self.history, "best": self.best,
                "skipped": self.skipped}

    def resume(self) -> bool:
        """Continue from the last completed epoch if a checkpoint of this same configuration exists."""
        state = load_checkpoint(self.last_path)
        if state is None:
            return False
        if state["fingerprint"] != self.config.fingerprint():
            log.warning("checkpoint %s was written with another configuration: starting afresh", self.last_path)
            return False
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        self.history, self.best, self.skipped = state["history"], state["best"], state["skipped"]
        self.start_epoch = state["epoch"] + 1
        log.info("resuming from %s after epoch %d", self.last_path, state["epoch"])
        return True

    def _loader(self, epoch: int) -> DataLoader:
        """Shuffled batches (``data.buckets.epoch_batches``): every rank takes its share of the same global
        batches, so a DDP run sees the batches of a single process with world x batch."""
        self.train_set.set_epoch(epoch)
        seed = self.config.seed * 1000 + epoch
        order = torch.randperm(len(self.train_set), generator=torch.Generator().manual_seed(seed)).tolist()
        lengths = stored_lengths(self.train_set) if self.config.length_buckets > 0 else None
        batches = epoch_batches(order, self.config.batch_size, seed, lengths, self.config.length_buckets,
                                self.rank, self.world_size)
        pin = self.config.pin_memory and self.device.type == "cuda"
        return DataLoader(self.train_set, batch_sampler=batches, num_workers=self.config.num_workers,
                          collate_fn=collate_clips, pin_memory=pin)

    def train_step(self, batch: dict) -> dict[str, float] | None:
        """One optimiser step on ``batch`` (mixed precision on CUDA, clipping); None when the loss was not finite."""
        flush_denormals(self.config.flush_denormal)  # per step: benchmarks interleave two trainers
        with torch.autocast(self.device.type, enabled=self.use_amp):
            out = self.train_model(move_batch(batch, self.device))
        loss = weighted_loss(out["losses"], self.config.loss_weights)
        if not torch.isfinite(loss):
            self.skipped += 1
            log.warning("non-finite loss (%s) in batch %s: skipped", loss.item(), batch.get("ids"))
            self.optimizer.zero_grad(set_to_none=True)
            return None
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        if self.config.grad_clip > 0:
            self.scaler.unscale_(self.optimizer)
            nn.utils.clip_grad_norm_(self.model.parameters(), self.config.grad_clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        return {"loss": loss.item(), **{k: v.item() for k, v in out["losses"].items()}}

    def _start_epoch(self, epoch: int) -> None:
        """Models with a ``start_epoch(epoch, epochs) -> lr factor`` hook (staged methods such as SMKD) set
        themselves up for the epoch; the factor scales the scheduler's rate for this epoch only."""
        hook = getattr(self.model, "start_epoch", None)
        if hook is None:
            return
        factor = float(hook(epoch, self.config.epochs))
        for group, lr in zip(self.optimizer.param_groups, self.scheduler.get_last_lr(), strict=True):
            group["lr"] = lr * factor

    def _end_epoch_lr(self) -> None:
        """Give the scheduler back its own rates before it steps (its closed forms chain on them)."""
        for group, lr in zip(self.optimizer.param_groups, self.scheduler.get_last_lr(), strict=True):
            group["lr"] = lr

    def train_epoch(self, epoch: int) -> dict:
        torch.manual_seed(self.config.seed * 1000 + epoch)
        self._start_epoch(epoch)
        self.model.train()
        totals: dict[str, float] = {}
        steps, samples, start = 0, 0, time.perf_counter()
        bar = tqdm(self._loader(epoch), desc=f"epoch {epoch + 1}/{self.config.epochs}", leave=False,
                   disable=self.rank != 0)
        waited, loaded = 0.0, time.perf_counter()  # where the epoch goes: waiting for batches vs stepping
        for batch in bar:
            waited += time.perf_counter() - loaded
            values = self.train_step(batch)
            loaded = time.perf_counter()
            samples += len(batch["ids"])
            if values is None:
                continue
            steps += 1
            for k, v in values.items():
                totals[k] = totals.get(k, 0.0) + v
        if samples and not steps:
            raise InputError(f"{self.checkpoint_dir}: every batch of epoch {epoch + 1} had a non-finite loss "
                             "(training diverged); the epoch was not saved. Lower train.lr or the loss weights")
        metrics = {f"train_{k}": v / max(steps, 1) for k, v in totals.items()}
        elapsed = time.perf_counter() - start
        metrics["samples_per_s"] = samples / elapsed
        metrics.update(training_s=elapsed, data_wait_s=waited)
        metrics["lr"] = self.optimizer.param_groups[0]["lr"]
        return metrics

    def evaluates_after(self, epoch: int) -> bool:
        """Dev evaluation after every ``eval_every``-th epoch and always after the last."""
        return (epoch + 1) % max(self.config.eval_every, 1) == 0 or epoch + 1 == self.config.epochs

    def fit(self) -> TrainResult:
        self.resume()
        for epoch in range(self.start_epoch, self.config.epochs):
            metrics = self.train_epoch(epoch)
            self._end_epoch_lr()
            self.scheduler.step()
            if self.rank == 0:  # one process evaluates and writes; the others wait at the barrier
                self._end_epoch(epoch, metrics, self.evaluates_after(epoch))
            if self.world_size > 1:
                dist.barrier()
        return TrainResult(self.history, self.best["epoch"], self.best["wer"], self.skipped, self.best["state"])

    def _end_epoch(self, epoch: int, metrics: dict, evaluate: bool = True) -> None:
        dev: dict = {"wer": math.inf}
        start = time.perf_counter()
        if evaluate:
            flush_denormals(self.config.flush_denormal)
            self.model.eval()
            with torch.no_grad():
                dev = self.evaluate(self.model)
            metrics.update({f"dev_{k}": v for k, v in dev.items() if isinstance(v, int | float)})
        metrics["eval_s"] = time.perf_counter() - start
        metrics["skipped_batches"] = self.skipped
        metrics["epoch"] = epoch
        self.history.append(metrics)
        if dev["wer"] < self.best["wer"]:
            state = {k: v.detach().cpu().clone() for k, v in self.model.state_dict().items()}
            self.best = {"epoch": epoch, "wer": dev["wer"], "state": state}
        start = time.perf_counter()
        save_atomic(self._state(epoch), self.last_path)
        metrics["checkpoint_s"] = time.perf_counter() - start
        log.info("epoch %d: %s", epoch, {k: round(v, 4) for k, v in metrics.items()})
        self.on_epoch(epoch, metrics)
