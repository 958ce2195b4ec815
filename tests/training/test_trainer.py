"""Trainer: named losses, resume to the same result, NaN batches skipped, length bookkeeping."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from signdistill.data.clips import AlignedStreams, Augmentation, ClipRecord, SignClipDataset, collate_clips
from signdistill.data.vocabulary import Vocabulary
from signdistill.errors import InputError
from signdistill.flow.quantise import quantise_flow
from signdistill.models.baseline import BaselineConfig, BaselineRecognizer, temporal_length
from signdistill.training.trainer import TrainConfig, Trainer

VOCAB = Vocabulary.from_sequences([["A", "B", "C"]])


def _data(n: int = 6, seed: int = 0) -> tuple[dict, list[ClipRecord]]:
    rng = np.random.default_rng(seed)
    frames, records = {}, []
    for i in range(n):
        length = int(rng.integers(36, 48))
        frames[f"v{i}"] = rng.integers(0, 255, (length, 20, 20, 3), dtype=np.uint8)
        records.append(ClipRecord(f"v{i}", tuple(rng.choice(["A", "B", "C"], 3)), "s1"))
    return frames, records


def _dataset(train: bool = True) -> SignClipDataset:
    frames, records = _data()
    return SignClipDataset(frames, records, VOCAB, Augmentation(crop=16, train=train), seed=1)


def _model() -> BaselineRecognizer:
    torch.manual_seed(0)
    return BaselineRecognizer(BaselineConfig(num_classes=len(VOCAB), width=4, hidden=8, lstm_hidden=8, lstm_layers=1))


def _loss_evaluator(model: torch.nn.Module) -> dict:
    """A deterministic stand-in for dev WER: mean CTC on the un-augmented clips."""
    batch = collate_clips([_dataset(train=False)[i] for i in range(6)])
    return {"wer": float(model(batch)["losses"]["ctc"])}


CONFIG = dict(epochs=3, batch_size=2, lr=1e-2, schedule="cosine", device="cpu", seed=3)


class _Killed(RuntimeError):
    pass


def test_killed_run_resumes_to_the_same_result(tmp_path: Path) -> None:
    straight = Trainer(_model(), _dataset(), _loss_evaluator, TrainConfig(**CONFIG), tmp_path / "a").fit()

    def kill_after_first(epoch: int, metrics: dict) -> None:
        if epoch == 0:
            raise _Killed

    with pytest.raises(_Killed):
        Trainer(_model(), _dataset(), _loss_evaluator, TrainConfig(**CONFIG), tmp_path / "b",
                on_epoch=kill_after_first).fit()
    assert (tmp_path / "b" / "last.pt").exists() and not (tmp_path / "b" / "last.pt.tmp").exists()
    resumed_trainer = Trainer(_model(), _dataset(), _loss_evaluator, TrainConfig(**CONFIG), tmp_path / "b")
    resumed = resumed_trainer.fit()
    assert resumed_trainer.start_epoch == 1
    assert [h["train_loss"] for h in resumed.history] == pytest.approx([h["train_loss"] for h in straight.history])
    for key, value in straight.best_state.items():
        assert torch.equal(value, resumed.best_state[key]), key
    assert resumed.best_epoch == straight.best_epoch


def test_other_configuration_does_not_resume(tmp_path: Path) -> None:
    Trainer(_model(), _dataset(), _loss_evaluator, TrainConfig(**{**CONFIG, "epochs": 1}), tmp_path).fit()
    again = Trainer(_model(), _dataset(), _loss_evaluator, TrainConfig(**{**CONFIG, "lr": 1e-3}), tmp_path)
    assert again.resume() is False


def test_a_run_built_from_other_parameters_does_not_resume(tmp_path: Path) -> None:
    """Same training section, other model or data view (CTCA's frame_stride, the crop): start afresh. Where
    the run lives and how many processes train it do not matter."""
    from signdistill.training.spec import run_fingerprint

    params = {"kind": "ctca", "crop": 36, "model": {"frame_stride": 2}, "train": CONFIG,
              "checkpoint_dir": "a", "ddp": {"nproc_per_node": 1}}
    vocabulary = {"glosses": ["A", "B"]}
    same = run_fingerprint({**params, "checkpoint_dir": "b", "ddp": {"nproc_per_node": 2}}, vocabulary)
    assert run_fingerprint(params, vocabulary) == same
    for other in ({**params, "model": {"frame_stride": 1}}, {**params, "crop": 48}):
        assert run_fingerprint(other, vocabulary) != same
    assert run_fingerprint(params, {"glosses": ["A", "C"]}) != same
    spelled = {**params, "rules": "none", "flip": True, "distill": {"cache_dir": "elsewhere"}}
    assert run_fingerprint(spelled, vocabulary) == run_fingerprint({**params, "distill": {}}, vocabulary)
    assert run_fingerprint({**params, "flip": False}, vocabulary) != same  # a default changed does count
    first = TrainConfig(**{**CONFIG, "epochs": 1}, run_fingerprint=same)
    Trainer(_model(), _dataset(), _loss_evaluator, first, tmp_path).fit()
    assert Trainer(_model(), _dataset(), _loss_evaluator, first, tmp_path).resume() is True
    moved = TrainConfig(**{**CONFIG, "epochs": 1}, run_fingerprint=run_fingerprint({**params, "crop": 48}, vocabulary))
    assert Trainer(_model(), _dataset(), _loss_evaluator, moved, tmp_path).resume() is False


class _NaNOnce(BaselineRecognizer):
    """Returns a NaN loss for any batch that holds video v2."""

    def forward(self, batch: dict) -> dict:
        out = super().forward(batch)
        if "v2" in batch.get("ids", []):
            out["losses"]["ctc"] = out["losses"]["ctc"] * float("nan")
        return out


def test_nan_batches_are_skipped_and_counted(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    torch.manual_seed(0)
    model = _NaNOnce(BaselineConfig(num_classes=len(VOCAB), width=4, hidden=8, lstm_hidden=8, lstm_layers=1))
    result = Trainer(model, _dataset(), lambda m: {"wer": 0.5}, TrainConfig(**{**CONFIG, "epochs": 2}),
                     tmp_path).fit()
    assert result.skipped_batches == 2  # one batch per epoch holds v2
    assert result.history[-1]["skipped_batches"] == 2
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert "non-finite loss (nan) in batch" in caplog.text and "v2" in caplog.text


class _DivergesAfterEpoch1(BaselineRecognizer):
    """Trains normally until ``diverged`` is set, then every loss is NaN."""

    diverged = False

    def forward(self, batch: dict) -> dict:
        out = super().forward(batch)
        if self.diverged:
            out["losses"]["ctc"] = out["losses"]["ctc"] * float("nan")
        return out


def test_an_epoch_of_nothing_but_nan_stops_the_run_and_keeps_the_last_checkpoint(tmp_path: Path) -> None:
    """Divergence is not skipped silently epoch after epoch: the run stops naming its checkpoints, and the epoch
    that learned nothing is not saved over the last good one."""
    model = _DivergesAfterEpoch1(BaselineConfig(num_classes=len(VOCAB), width=4, hidden=8, lstm_hidden=8,
                                                lstm_layers=1))
    saved: list[bytes] = []

    def after_epoch(epoch: int, metrics: dict) -> None:
        saved.append((tmp_path / "last.pt").read_bytes())
        model.diverged = True

    trainer = Trainer(model, _dataset(), lambda m: {"wer": 0.5}, TrainConfig(**{**CONFIG, "epochs": 3}), tmp_path,
                      on_epoch=after_epoch)
    with pytest.raises(InputError, match=f"{tmp_path}: every batch of epoch 2 had a non-finite loss"):
        trainer.fit()
    assert len(saved) == 1 and (tmp_path / "last.pt").read_bytes() == saved[0]


def test_loss_weights_scale_named_terms(tmp_path: Path) -> None:
    trainer = Trainer(_model(), _dataset(), _loss_evaluator,
                      TrainConfig(**{**CONFIG, "epochs": 1, "loss_weights": {"ctc": 0.5}}), tmp_path)
    metrics = trainer.train_epoch(0)
    assert metrics["train_loss"] == pytest.approx(0.5 * metrics["train_ctc"], rel=1e-6)


@pytest.mark.parametrize("length", [16, 17, 30, 31, 57, 200])
def test_temporal_length_matches_the_convolutions(length: int) -> None:
    model = _model().eval()
    feats = torch.zeros(1, model.frames.out_channels, length)
    assert model.temporal(feats).shape[-1] == int(temporal_length(torch.tensor([length]))[0])


def test_collate_pads_and_keeps_lengths() -> None:
    data = _dataset(train=False)
    batch = collate_clips([data[0], data[1]])
    assert batch["video"].dtype == torch.uint8
    assert batch["lengths"].tolist() == [data[0]["video"].shape[0], data[1]["video"].shape[0]]
    assert batch["video"].shape[1] == max(batch["lengths"].tolist())
    assert batch["label_lengths"].tolist() == [3, 3] and batch["labels"].shape == (6,)


def test_augmentation_is_a_function_of_seed_epoch_and_index() -> None:
    data = _dataset(train=True)
    data.set_epoch(4)
    a = data[2]["video"]
    data.set_epoch(5)
    b = data[2]["video"]
    data.set_epoch(4)
    assert torch.equal(a, data[2]["video"])
    assert a.shape[1:] == (16, 16, 3)
    assert not (a.shape == b.shape and torch.equal(a, b))


def test_resized_views_follow_the_same_crop_flip_and_time_steps() -> None:
    frames, records = _data()
    aug = Augmentation(crop=16, train=True, resized_views=(("video_low", 8),))
    data = SignClipDataset(frames, records, VOCAB, aug, seed=1)
    item = data[2]
    assert item["video_low"].shape == (item["video"].shape[0], 8, 8, 3)
    # area averaging: each low-resolution pixel is the mean of a 2x2 block of the cropped clip
    expected = item["video"].float().view(-1, 8, 2, 8, 2, 3).mean(dim=(2, 4))
    assert (item["video_low"].float() - expected).abs().max() <= 1.0
    batch = collate_clips([data[0], item])
    assert batch["video_low"].shape[:2] == batch["video"].shape[:2]
    assert batch["video_low"][1, : len(item["video"])].equal(item["video_low"])


class _Staged(BaselineRecognizer):
    """A model with the per-epoch hook: half the learning rate in epoch 1 only."""

    def __init__(self) -> None:
        super().__init__(BaselineConfig(num_classes=len(VOCAB), width=4, hidden=8, lstm_hidden=8, lstm_layers=1))
        self.seen: list[tuple[int, int]] = []

    def start_epoch(self, epoch: int, epochs: int) -> float:
        self.seen.append((epoch, epochs))
        return 0.5 if epoch == 1 else 1.0


def test_epoch_hook_scales_the_rate_for_its_epoch_only(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = _Staged()
    config = TrainConfig(**{**CONFIG, "epochs": 3, "schedule": "cosine", "lr": 1e-3})
    result = Trainer(model, _dataset(), _loss_evaluator, config, tmp_path).fit()
    assert model.seen == [(0, 3), (1, 3), (2, 3)]
    rates = [h["lr"] for h in result.history]
    cosine = [1e-3 * (1 + math.cos(math.pi * e / 3)) / 2 for e in range(3)]
    assert rates == pytest.approx([cosine[0], 0.5 * cosine[1], cosine[2]])


def _streams_data() -> tuple[dict, list[ClipRecord], AlignedStreams]:
    """RGB whose red channel is 10 x column, flow whose dx is (column - 5) px and dy the row, at half size."""
    frames, records = _data(n=3)
    cols = np.arange(20, dtype=np.uint8)
    flow, keypoints = {}, {}
    for vid, video in frames.items():
        video[..., 0] = cols[None, None, :] * 10
        field = np.stack(np.broadcast_arrays(np.arange(10)[None, :] - 5.0, np.arange(10)[:, None] * 1.0), -1)
        flow[vid] = np.repeat(quantise_flow(field)[None], len(video), 0)
        points = np.zeros((len(video), 133, 3), np.float32)
        points[:, 9] = (6.0, 8.0, 1.0)  # left wrist at source pixel x 6, y 8 (COCO-WholeBody index 9)
        keypoints[vid] = {"keypoints": points, "frame_size": (20, 20)}
    return frames, records, AlignedStreams(flow=flow, keypoints=keypoints, scale=0.5)


@pytest.mark.parametrize("epoch", range(4))
def test_aligned_streams_follow_the_rgb_crop_flip_and_time_steps(epoch: int) -> None:
    frames, records, streams = _streams_data()
    data = SignClipDataset(frames, records, VOCAB, Augmentation(crop=16, train=True), seed=1, streams=streams)
    data.set_epoch(epoch)
    for i in range(3):
        item = data[i]
        red = item["video"][0, 0, :, 0].numpy().astype(int) // 10  # source columns, mirrored if flipped
        flipped = red[0] > red[-1]
        left = int(red.min())
        assert item["flow"].shape == (len(item["video"]), 2, 8, 8)
        columns = round(left * 0.5) + np.arange(8)
        dx = (columns - 5.0)[::-1] * -1 if flipped else columns - 5.0
        np.testing.assert_allclose(item["flow"][0, 0, 0].numpy(), dx, atol=0.08)
        x = 6 * 0.5 - round(left * 0.5)
        wrist = item["keypoints"][0, 10 if flipped else 9]  # a mirror turns the left wrist into the right
        assert float(wrist[0]) == pytest.approx(8 - 1 - x if flipped else x)
    batch = collate_clips([data[0], data[1]])
    assert batch["flow"].shape[:2] == batch["video"].shape[:2] == batch["keypoints"].shape[:2]


@pytest.mark.parametrize("epoch", range(4))
def test_a_random_resized_window_keeps_the_streams_aligned(epoch: int) -> None:
    """SignKD's 0.7-1.0 crop: a 16 px window (0.8 of 20) resized to 8; flow resampled and its vectors halved."""
    frames, records, streams = _streams_data()
    aug = Augmentation(crop=8, train=True, crop_scale=(0.8, 0.8))
    data = SignClipDataset(frames, records, VOCAB, aug, seed=1, streams=streams)
    data.set_epoch(epoch)
    for i in range(3):
        item = data[i]
        assert item["video"].shape[1:] == (8, 8, 3) and item["flow"].shape[1:] == (2, 4, 4)
        red = item["video"][0, 0, :, 0].numpy().astype(int)  # area-averaged column pairs: 10 x left column + 5
        flipped = red[0] > red[-1]
        left = int(red.min()) // 10
        np.testing.assert_array_equal(np.sort(red), 10 * (left + 2 * np.arange(8)) + 5)
        s_left = round(left * 0.5)
        dx = ((s_left + 2 * np.arange(4) + 0.5) - 5.0) * 0.5  # bilinear halving samples between column pairs
        np.testing.assert_allclose(item["flow"][0, 0, 0].numpy(), -dx[::-1] if flipped else dx, atol=0.05)
        x = (6 * 0.5 - s_left) * 0.5
        wrist = item["keypoints"][0, 10 if flipped else 9]
        assert float(wrist[0]) == pytest.approx(4 - 1 - x if flipped else x)


@pytest.mark.parametrize("crop_scale", [None, (0.8, 0.8)])
def test_the_epochs_of_the_alignment_tests_draw_both_flipped_and_plain_clips(crop_scale: tuple | None) -> None:
    """The two tests above check a flipped and a plain clip differently; over their epochs both must occur, or
    one of the branches would never be checked."""
    frames, records, streams = _streams_data()
    aug = Augmentation(crop=16 if crop_scale is None else 8, train=True, crop_scale=crop_scale)
    data = SignClipDataset(frames, records, VOCAB, aug, seed=1, streams=streams)
    flips = set()
    for epoch in range(4):
        data.set_epoch(epoch)
        for i in range(3):
            red = data[i]["video"][0, 0, :, 0].numpy().astype(int)
            flips.add(bool(red[0] > red[-1]))
    assert flips == {True, False}


def test_crop_scale_draws_windows_across_its_range() -> None:
    frames, records, _ = _streams_data()
    data = SignClipDataset(frames, records, VOCAB, Augmentation(crop=8, train=True, crop_scale=(0.5, 1.0)), seed=2)
    sides = set()
    for epoch in range(6):
        data.set_epoch(epoch)
        for i in range(3):
            assert data[i]["video"].shape[1:] == (8, 8, 3)
            sides.add(data._window(frames[records[i].id], records[i], np.random.default_rng([2, epoch, i])).crop)
    assert len(sides) > 3 and min(sides) >= 10 and max(sides) <= 20
