"""Model efficiency: parameters, multiply-accumulates and measured latency for one clip.

MACs come from torch's own ``FlopCounterMode``, which counts the matrix products and convolutions
(2 FLOPs per multiply-accumulate) and ignores element-wise work such as normalisation and activations,
the convention of the papers' "GFlops" columns (CRKD's are MACs): MACs = FLOPs / 2.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


def count_parameters(model: nn.Module) -> int:
    """All parameters (trainable or frozen): what a checkpoint stores and what the papers count."""
    return sum(p.numel() for p in model.parameters())


def _lstm_steps(inputs: tuple) -> int:
    """Time steps an ``nn.LSTM`` call runs, summed over the batch (packed sequences count real steps only)."""
    data = inputs[0]
    if isinstance(data, nn.utils.rnn.PackedSequence):
        return int(data.batch_sizes.sum())
    return int(data.shape[0] * data.shape[1]) if data.dim() == 3 else int(data.shape[0])


def lstm_macs(lstm: nn.LSTM, steps: int) -> int:
    """MACs of an LSTM over ``steps`` time steps: four gates, each an input and a recurrent product."""
    directions = 2 if lstm.bidirectional else 1
    out = lstm.proj_size or lstm.hidden_size
    macs = 0
    for layer in range(lstm.num_layers):
        inputs = lstm.input_size if layer == 0 else out * directions
        macs += directions * 4 * lstm.hidden_size * (inputs + out)
        if lstm.proj_size:
            macs += directions * lstm.hidden_size * lstm.proj_size
    return macs * steps


def count_macs(model: nn.Module, example_inputs: tuple) -> int:
    """Multiply-accumulates of one forward pass on ``example_inputs`` (FLOPs / 2, see module docstring).

    ``FlopCounterMode`` sees no work in an ``nn.LSTM`` over a padded tensor (one fused ATen op without a
    formula), though it does count the per-step products of a packed sequence: an LSTM call that added
    nothing to the count is counted from its shapes and the steps it ran.
    """
    counter = FlopCounterMode(display=False)
    before: list[int] = []
    uncounted = [0]

    def start(module: nn.Module, inputs: tuple) -> None:
        before.append(counter.get_total_flops())

    def finish(module: nn.Module, inputs: tuple, output: object) -> None:
        if counter.get_total_flops() == before.pop():
            uncounted[0] += lstm_macs(module, _lstm_steps(inputs))

    lstms = [m for m in model.modules() if isinstance(m, nn.LSTM)]
    hooks = [m.register_forward_pre_hook(start) for m in lstms] + [m.register_forward_hook(finish) for m in lstms]
    try:
        with torch.no_grad(), counter:
            model(*example_inputs)
    finally:
        for hook in hooks:
            hook.remove()
    return counter.get_total_flops() // 2 + uncounted[0]


def sync_device(device: torch.device) -> None:
    """Wait for queued kernels so wall-clock time covers the work, not just its launch."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _input_device(example_inputs: tuple | list | dict) -> torch.device:
    """Device of the first tensor among the inputs, looking inside batch dicts and sequences."""
    values = example_inputs.values() if isinstance(example_inputs, dict) else example_inputs
    for value in values:
        if isinstance(value, torch.Tensor):
            return value.device
        if isinstance(value, tuple | list | dict):
            found = _input_device(value)
            if found.type != "cpu":
                return found
    return torch.device("cpu")


def measure_latency(model: nn.Module, example_inputs: tuple, warmup: int = 2, repeats: int = 5) -> list[float]:
    """Seconds per forward pass, ``repeats`` times after ``warmup`` untimed passes (allocator, autotune)."""
    device = _input_device(example_inputs)
    times = []
    with torch.inference_mode():
        for i in range(warmup + repeats):
            sync_device(device)
            start = time.perf_counter()
            model(*example_inputs)
            sync_device(device)
            if i >= warmup:
                times.append(time.perf_counter() - start)
    return times


def profile_model(model: nn.Module, example_inputs: tuple, warmup: int = 2, repeats: int = 5) -> dict[str, Any]:
    """Parameters, MACs and median latency of ``model(*example_inputs)`` on the inputs' device.

    The model is measured in eval mode (dropout off, batch-norm on running statistics, as at inference)
    and put back in the mode it came in.
    """
    was_training = model.training
    model.eval()
    try:
        macs = count_macs(model, example_inputs)
        times = measure_latency(model, example_inputs, warmup, repeats) if repeats > 0 else []
    finally:
        model.train(was_training)
    params = count_parameters(model)
    return {
        "params": params,
        "params_m": params / 1e6,
        "macs": macs,
        "gmacs": macs / 1e9,
        "latency_s": statistics.median(times) if times else None,
        "latency_runs_s": times,
        "device": str(_input_device(example_inputs)),
    }
