"""Training speed switches: each one trains what the reference path trains (exactly where the maths is the same,
within float rounding where a kernel sums in another order), and the checkpoints of either path resume."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from signdistill.data.buckets import epoch_batches, length_bucketed, padding_fraction, stored_lengths
from signdistill.data.clips import Augmentation, ClipRecord, SignClipDataset, collate_clips
from signdistill.data.vocabulary import Vocabulary
from signdistill.errors import InputError
from signdistill.models.baseline import BaselineConfig, BaselineRecognizer
from signdistill.models.lrinet import LRINet, LRINetConfig
from signdistill.training.checkpoint import load_checkpoint
from signdistill.training.trainer import REFERENCE_PATH, TrainConfig, Trainer, to_channels_last

pytestmark = pytest.mark.usefixtures("one_thread")

VOCAB = Vocabulary.from_sequences([["A", "B", "C"]])
CONFIG = dict(epochs=2, batch_size=2, lr=3e-3, schedule="cosine", grad_clip=5.0, device="cpu", seed=3)


def _dataset(n: int = 6) -> SignClipDataset:
    rng = np.random.default_rng(0)
    frames = {f"v{i}": rng.integers(0, 255, (int(rng.integers(28, 44)), 20, 20, 3), dtype=np.uint8) for i in range(n)}
    records = [ClipRecord(f"v{i}", tuple(rng.choice(["A", "B", "C"], 3)), "s1") for i in range(n)]
    return SignClipDataset(frames, records, VOCAB, Augmentation(crop=16, train=True), seed=1)


def _model() -> BaselineRecognizer:
    torch.manual_seed(0)
    return BaselineRecognizer(BaselineConfig(num_classes=len(VOCAB), width=4, hidden=8, lstm_hidden=8, lstm_layers=1))


def _lrinet() -> LRINet:
    """CRKD's student at 16 px (k = 16/8 + 1 - 2 = 1), gradient stopping as CRKD trains it."""
    torch.manual_seed(0)
    return LRINet(LRINetConfig(num_classes=len(VOCAB), resolution=16, channels=16, width=2, feature_size=2,
                               gradient_stop=0.75))


def _losses_on_fixed_batch(tmp_path: Path, steps: int = 8, model: Callable[[], torch.nn.Module] = _model,
                           **switches) -> tuple[list[float], dict]:
    """Losses of ``steps`` optimiser steps of ``model()`` on one batch, and the weights after them."""
    trainer = Trainer(model(), _dataset(), lambda m: {"wer": 0.0}, TrainConfig(**{**CONFIG, **switches}), tmp_path)
    batch = collate_clips([_dataset()[i] for i in (0, 1)])
    losses = [trainer.train_step(batch)["loss"] for _ in range(steps)]
    return losses, {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[float], dict]:
    return _losses_on_fixed_batch(tmp_path_factory.mktemp("reference"), **REFERENCE_PATH)


# foreach: the same per-element maths batched over tensors; fused: one C++ pass per tensor, rounded in another
# order: rounding, grown through the steps by training itself. Channels-last: LRINet's test below (the thin
# baseline is refused it on the CPU)
@pytest.mark.parametrize(("switches", "tolerance"), [({"optimizer_kernel": "loop"}, 0.0),  # torch's choice here
                                                     ({"optimizer_kernel": "foreach"}, 1e-6),
                                                     ({"optimizer_kernel": "fused"}, 1e-3),
                                                     ({"pin_memory": True}, 0.0),  # a no-op off CUDA
                                                     ({"flush_denormal": True}, 1e-6)])
def test_each_switch_trains_what_the_reference_path_trains(tmp_path: Path, reference: tuple[list[float], dict],
                                                           switches: dict, tolerance: float) -> None:
    reference_losses, reference_weights = reference
    losses, weights = _losses_on_fixed_batch(tmp_path, **{**REFERENCE_PATH, **switches})
    assert reference_losses[-1] < 0.9 * reference_losses[0]  # it learns the batch
    assert losses == pytest.approx(reference_losses, rel=tolerance, abs=tolerance)
    for key, value in reference_weights.items():
        torch.testing.assert_close(weights[key], value, rtol=10 * tolerance, atol=10 * tolerance)


def test_channels_last_trains_lrinet_as_the_reference_path(tmp_path: Path) -> None:
    """CRKD's students train channels-last (conf/base/parameters_crkd.yml): LRINet's thin split convolutions,
    max-pools and TSCM shifts learn what the default layout learns.

    Not to 1e-3 as the baseline's: oneDNN's channels-last batch-norm backward sums in float in another order
    (a conv + BN + ReLU block's gradient is ~5x further from float64 than in the default layout), and LRINet's
    stack of thin BN layers at initialisation amplifies that, so Adam's first steps drift apart by a few percent
    of the loss. The same first loss, and the same descent within 5%, is what a layout error would break."""
    reference_losses, _ = _losses_on_fixed_batch(tmp_path / "a", model=_lrinet, **REFERENCE_PATH)
    losses, _ = _losses_on_fixed_batch(tmp_path / "b", model=_lrinet, **{**REFERENCE_PATH, "channels_last": True})
    assert losses[0] == pytest.approx(reference_losses[0], rel=1e-4)
    assert reference_losses[-1] < 0.9 * reference_losses[0] and losses[-1] < 0.9 * losses[0]  # both learn the batch
    assert losses == pytest.approx(reference_losses, rel=0.05)


@pytest.mark.parametrize("flush", [True, False])
def test_flush_denormal_sets_the_cpu_mode_of_each_step(tmp_path: Path, flush: bool) -> None:
    trainer = Trainer(_model(), _dataset(), lambda m: {}, TrainConfig(**CONFIG, flush_denormal=flush), tmp_path)
    trainer.train_step(collate_clips([_dataset()[i] for i in (0, 1)]))
    subnormal = (torch.tensor([1e-39]) * 2).item()
    torch.set_flush_denormal(False)
    assert subnormal == (0.0 if flush else pytest.approx(2e-39))


def test_channels_last_lays_out_every_convolution_weight() -> None:
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Conv3d(4, 4, 3), torch.nn.Linear(4, 4))
    to_channels_last(model)
    assert model[0].weight.is_contiguous(memory_format=torch.channels_last)
    assert model[1].weight.is_contiguous(memory_format=torch.channels_last_3d)
    assert model[2].weight.is_contiguous()


def test_unknown_optimizer_kernel_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown optimizer_kernel 'fast'.*auto \\| loop \\| foreach \\| fused"):
        Trainer(_model(), _dataset(), lambda m: {}, TrainConfig(**CONFIG, optimizer_kernel="fast"), tmp_path)


def test_speed_switches_keep_the_checkpoint_fingerprint() -> None:
    """Switches that change only speed, or are at their defaults, fingerprint as a configuration written before
    they existed; switches that change what is learnt start a run afresh."""
    config = TrainConfig(epochs=3, batch_size=2, lr=1e-2, schedule="cosine", device="cpu", seed=3, length_buckets=0)
    assert config.fingerprint() == "3bab444c709e"  # the same configuration's fingerprint without the switches
    assert dataclasses.replace(config, **REFERENCE_PATH).fingerprint() == config.fingerprint()
    assert dataclasses.replace(config, eval_every=2).fingerprint() != config.fingerprint()
    assert dataclasses.replace(config, length_buckets=4).fingerprint() != config.fingerprint()
    assert TrainConfig(epochs=3, batch_size=2, lr=1e-2, schedule="cosine", device="cpu", seed=3) == config


def test_a_reference_path_checkpoint_resumes_on_the_fused_path(tmp_path: Path) -> None:
    Trainer(_model(), _dataset(4), lambda m: {"wer": 1.0}, TrainConfig(**{**CONFIG, **REFERENCE_PATH}), tmp_path).fit()
    resumed = Trainer(_model(), _dataset(4), lambda m: {"wer": 1.0}, TrainConfig(**CONFIG), tmp_path)
    assert resumed.resume() and resumed.start_epoch == 2
    saved = load_checkpoint(tmp_path / "last.pt")["optimizer"]["state"]
    loaded = resumed.optimizer.state_dict()["state"]
    assert saved.keys() == loaded.keys() and saved
    for key, moments in saved.items():  # the fused optimiser holds the reference path's Adam moments
        assert all(torch.equal(moments[name], loaded[key][name]) for name in ("step", "exp_avg", "exp_avg_sq"))
    assert resumed.train_step(collate_clips([_dataset()[i] for i in (0, 1)])) is not None  # and they step
    assert all(resumed.optimizer.state_dict()["state"][k]["step"] == saved[k]["step"] + 1 for k in saved)


def test_eval_every_evaluates_every_kth_and_the_last_epoch_and_trains_the_same(tmp_path: Path) -> None:
    calls = []

    def evaluate(model: torch.nn.Module) -> dict:
        calls.append(1)
        return {"wer": 50.0 - len(calls)}

    every = Trainer(_model(), _dataset(4), lambda m: {"wer": 1.0}, TrainConfig(**{**CONFIG, "epochs": 3}),
                    tmp_path / "a").fit()
    sparse = Trainer(_model(), _dataset(4), evaluate, TrainConfig(**{**CONFIG, "epochs": 3, "eval_every": 2}),
                     tmp_path / "b").fit()
    assert len(calls) == 2 and ["dev_wer" in h for h in sparse.history] == [False, True, True]
    assert sparse.best_epoch == 2 and sparse.best_dev_wer == 48.0
    assert [h["train_loss"] for h in sparse.history] == [h["train_loss"] for h in every.history]
    assert {"data_wait_s", "training_s", "eval_s", "checkpoint_s"} <= set(sparse.history[0])
    from signdistill.reporting.evaluation import training_curves

    curves = training_curves({"epochs": sparse.history, "best_epoch": sparse.best_epoch})  # timings: not losses
    assert [t.get_text() for t in curves.axes[0].get_legend().get_texts()] == ["ctc", "loss"]


def test_length_buckets_batch_similar_lengths_and_keep_every_clip() -> None:
    lengths = [int(x) for x in np.random.default_rng(0).integers(20, 200, 64)]
    order = torch.randperm(64, generator=torch.Generator().manual_seed(0)).tolist()
    plain = [order[i:i + 2] for i in range(0, 64, 2)]
    bucketed = length_bucketed(order, lengths, batch_size=2, window=8, seed=0)
    assert sorted(i for b in bucketed for i in b) == list(range(64))
    assert padding_fraction(bucketed, lengths) < padding_fraction(plain, lengths) / 2
    assert bucketed != length_bucketed(order, lengths, batch_size=2, window=8, seed=1)  # batch order reshuffled
    assert stored_lengths(_dataset()) == [len(_dataset().packed[f"v{i}"]) for i in range(6)]


@pytest.mark.parametrize("n", [64, 61])
def test_ranks_share_out_the_single_process_batches(n: int) -> None:
    lengths = [int(x) for x in np.random.default_rng(1).integers(20, 200, n)]
    order = torch.randperm(n, generator=torch.Generator().manual_seed(5)).tolist()
    for window in (0, 4):
        single = epoch_batches(order, 8, seed=5, lengths=lengths, window=window)
        assert single == (length_bucketed(order, lengths, 8, 4, 5) if window else
                          [order[i:i + 8] for i in range(0, n, 8)])
        ranks = [epoch_batches(order, 4, seed=5, lengths=lengths, window=window, rank=r, world=2) for r in (0, 1)]
        assert len(ranks[0]) == len(ranks[1]) and all(ranks[0]) and all(ranks[1])
        padded = order + order[:n % 2]
        merged = [sorted(a + b) for a, b in zip(*ranks, strict=True)]
        again = epoch_batches(padded, 8, seed=5, lengths=lengths, window=window)
        assert merged == [sorted(b) for b in again]  # each step's ranks hold one single-process batch
    sampler = torch.utils.data.DistributedSampler(range(n), num_replicas=2, rank=1, shuffle=True, seed=5)
    assert [i for b in epoch_batches(order, 4, seed=5, rank=1, world=2) for i in b] == list(sampler)


def test_length_bucketed_epochs_train(tmp_path: Path) -> None:
    """The trainer draws its batches from the buckets (the same as ``epoch_batches`` with the window), and trains."""
    config = TrainConfig(**{**CONFIG, "length_buckets": 3})
    trainer = Trainer(_model(), _dataset(), lambda m: {"wer": 1.0}, config, tmp_path)
    drawn = [list(batch["ids"]) for batch in trainer._loader(0)]
    order = torch.randperm(6, generator=torch.Generator().manual_seed(config.seed * 1000)).tolist()
    lengths = stored_lengths(_dataset())
    expected = [[f"v{i}" for i in b] for b in epoch_batches(order, 2, seed=config.seed * 1000, lengths=lengths,
                                                              window=3)]
    assert drawn == expected != [[f"v{i}" for i in order[j:j + 2]] for j in range(0, 6, 2)]
    result = trainer.fit()
    assert all(np.isfinite(h["train_loss"]) for h in result.history) and result.skipped_batches == 0


def test_channels_last_is_refused_where_onednn_backward_corrupts_the_heap(tmp_path: Path) -> None:
    """The thin baseline's 1x1 stride-2 downsample would train channels-last into a segfault; the error names it.
    LRINet has no such layer, and a frozen one (a distiller's teacher) only runs forward."""
    config = TrainConfig(**{**CONFIG, "channels_last": True})
    with pytest.raises(InputError, match=r"frames\.layer2\.0\.downsample\.0.*channels_last: false"):
        Trainer(_model(), _dataset(), lambda m: {}, config, tmp_path / "baseline")
    Trainer(_lrinet(), _dataset(), lambda m: {}, config, tmp_path / "lrinet")
    frozen = _model().requires_grad_(False)
    Trainer(torch.nn.ModuleDict({"teacher": frozen, "student": _lrinet()}), _dataset(), lambda m: {}, config,
            tmp_path / "distiller")
