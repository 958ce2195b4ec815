"""distill_cost: a timed epoch is Trainer.train_epoch itself, its wall time split into steps and the rest."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from signdistill.benchmarks.distill_cost import timed_epoch
from signdistill.data.clips import Augmentation, ClipRecord, SignClipDataset
from signdistill.data.vocabulary import Vocabulary
from signdistill.models.signkd import SignKDStudent, SignKDStudentConfig
from signdistill.training.trainer import TrainConfig, Trainer

VOCAB = Vocabulary.from_sequences([["A", "B", "C"]])


def test_timed_epoch_splits_the_real_epoch_and_restores_the_trainer(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    frames = {f"v{i}": rng.integers(0, 255, (24, 20, 20, 3), dtype=np.uint8) for i in range(5)}
    records = [ClipRecord(f"v{i}", ("A", "B"), "s1") for i in range(5)]
    clips = SignClipDataset(frames, records, VOCAB, Augmentation(crop=16, train=True), seed=0)
    torch.manual_seed(0)
    model = SignKDStudent(SignKDStudentConfig(len(VOCAB), width=0.125))
    trainer = Trainer(model, clips, lambda m: {}, TrainConfig(epochs=1, batch_size=2, device="cpu"), tmp_path)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    timing = timed_epoch(trainer, 0)
    assert timing["steps"] == 3  # 5 clips in batches of 2
    assert 0 < timing["step_s"] < timing["epoch_s"]
    assert abs(timing["step_s"] + timing["rest_s"] - timing["epoch_s"]) < 1e-9
    assert timing["clips_per_s"] > 0
    assert any(not torch.equal(before[k], v) for k, v in model.state_dict().items())  # it trained
    assert "train_step" not in vars(trainer)  # the instance's timing wrapper is gone
