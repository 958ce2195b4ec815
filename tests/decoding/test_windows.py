"""Long videos decoded in overlapping windows: the stitched log-probabilities against whole-video decoding, and
no forward pass larger than the window."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from signdistill.console import app, recognize
from signdistill.data.frames import FrameFolder, FrameReadError, VideoFrames, read_frames
from signdistill.data.vocabulary import Vocabulary
from signdistill.decoding.ctc import decode_log_probs
from signdistill.decoding.spans import recognise_spans
from signdistill.decoding.video import video_batch
from signdistill.decoding.windows import OVERLAP, WINDOW, Window, plan_windows, stitch, windowed_log_probs
from signdistill.models.registry import build_recognizer, package_model, write_package

pytestmark = pytest.mark.usefixtures("one_thread")
VIEW = {"store_size": 36, "crop": 32}


def smooth_clip(frames: int, seed: int = 0) -> np.ndarray:
    """uint8 [T, 40, 40, 3]: random images blended over time (a signer moves gradually, not frame to frame)."""
    rng = np.random.default_rng(seed)
    keys = rng.integers(0, 256, (frames // 8 + 2, 40, 40, 3)).astype(np.float32)
    t = np.arange(frames) / 8
    i, frac = t.astype(int), (t % 1)[:, None, None, None]
    return ((1 - frac) * keys[i] + frac * keys[i + 1]).astype(np.uint8)


def calibrated(kind: str, config: dict, clip: np.ndarray, classes: int = 6) -> torch.nn.Module:
    """A random-init recogniser whose batch-norm statistics are measured on ``clip`` (default statistics
    shrink every activation towards zero: near-uniform, input-independent outputs that would prove nothing)."""
    torch.manual_seed(0)
    model = build_recognizer(kind, classes, config)
    for module in model.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.momentum = None  # a cumulative average over the calibration pass
    with torch.no_grad():
        model.train()(video_batch(clip[:160], VIEW))
    return model.eval()


def test_windows_cover_the_video_once_and_stay_within_window_plus_overlaps() -> None:
    assert plan_windows(384, 256, 64) == [Window(0, 384, 0, 384)]  # fits: whole, as before windowing
    plan = plan_windows(1000, 256, 64)
    assert [(w.keep_from, w.keep_to) for w in plan] == [(0, 256), (256, 512), (512, 768), (768, 1000)]
    assert [(w.start, w.stop) for w in plan] == [(0, 320), (192, 576), (448, 832), (704, 1000)]
    assert max(w.stop - w.start for w in plan) <= 256 + 2 * 64


def test_stitching_lays_each_core_on_the_global_grid() -> None:
    steps = torch.arange(25.0)[:, None]  # a "model" whose output at global step j is j (stride 4)
    plan = plan_windows(100, 24, 16)
    pieces = [(w, steps[w.start // 4:w.start // 4 + (w.stop - w.start) // 4]) for w in plan]
    assert torch.equal(stitch(pieces, 4), steps)
    with pytest.raises(ValueError, match="overlap is shorter than the model's lag"):
        stitch([(w, out[:-5]) for w, out in pieces], 4)  # lagging 5 steps (20 frames) behind a 16-frame overlap


@pytest.mark.parametrize(("kind", "config", "view"), [
    ("signkd_student", {"width": 0.125}, VIEW),  # S3D blocks + a k3-k3 head: each step reads ~80 frames around it
    ("lrinet", {"resolution": 32, "channels": 32, "width": 4, "feature_size": 3}, VIEW),  # TSCM shifts, pools
])
def test_a_model_without_recurrence_gives_the_whole_video_log_probs(kind: str, config: dict, view: dict) -> None:
    clip = smooth_clip(300)
    model = calibrated(kind, config, clip)
    whole = windowed_log_probs(model, clip, view, window=None)
    windowed = windowed_log_probs(model, clip, view, window=32, overlap=48)
    assert whole.shape == windowed.shape == (75, 6)
    assert whole.std(0).mean() > 0.05  # the output depends on the input: the equality below can fail
    assert torch.allclose(windowed, whole, atol=1e-4)
    short = windowed_log_probs(model, clip, view, window=32, overlap=4)  # margins narrower than the field
    assert (short - whole).abs().max() > 1e-3


def test_a_bilstm_recogniser_decodes_the_same_glosses_in_windows() -> None:
    # The baseline's BiLSTM reads the whole clip, so windows cannot equal the whole video in principle; with the
    # default 64 frames of context each side they give the same glosses and log-probabilities within 1e-2.
    clip = smooth_clip(800, seed=1)
    model = calibrated("baseline", {"width": 4, "hidden": 16, "lstm_hidden": 8, "lstm_layers": 1}, clip)
    whole = windowed_log_probs(model, clip, VIEW, window=None)
    windowed = windowed_log_probs(model, clip, VIEW, window=128, overlap=64)
    assert whole.shape == windowed.shape == (197, 6) and whole.std(0).mean() > 0.05
    difference = (windowed - whole).abs().max().item()
    assert 0 < difference < 1e-2, difference
    lengths = torch.tensor([len(whole)])
    for method in ("greedy", "beam"):
        ids = decode_log_probs(whole[None], lengths, method, 5)[0]
        assert decode_log_probs(windowed[None], lengths, method, 5)[0] == ids and ids
    vocab = Vocabulary(("A", "B", "C", "D", "E"))
    spans = recognise_spans(model, clip, VIEW, vocab, 25.0, method="greedy", window=128, overlap=64)
    assert spans == recognise_spans(model, clip, VIEW, vocab, 25.0, method="greedy", window=None)


@pytest.mark.parametrize("frames", [200, 800])
def test_no_forward_pass_sees_more_than_the_window_and_its_overlaps(frames: int) -> None:
    clip = smooth_clip(frames)
    model = calibrated("baseline", {"width": 4, "hidden": 16, "lstm_hidden": 8, "lstm_layers": 1}, clip)
    fed: list[int] = []
    model.register_forward_pre_hook(lambda _, args: fed.append(args[0]["video"].shape[1]))
    windowed_log_probs(model, clip, VIEW, window=64, overlap=32)
    assert max(fed) == 64 + 2 * 32 and len(fed) == -(-frames // 64)


def test_windows_must_align_with_the_output_grid_and_the_command_says_the_defaults() -> None:
    clip = smooth_clip(200)
    model = calibrated("baseline", {"width": 4, "hidden": 16, "lstm_hidden": 8, "lstm_layers": 1}, clip)
    with pytest.raises(ValueError, match="multiples of the model's temporal stride 4"):
        windowed_log_probs(model, clip, VIEW, window=30, overlap=16)
    ctca = build_recognizer("ctca", 6, {"width": 4, "tcn_channels": 16, "lstm_hidden": 8, "lstm_layers": 1})
    assert ctca.temporal_stride == ctca.export().temporal_stride == 2
    options = inspect.signature(recognize).parameters
    assert (options["window"].default.default, options["overlap"].default.default) == (WINDOW, OVERLAP)


def test_recognize_decodes_a_long_folder_in_windows_as_it_does_whole(tmp_path: Path) -> None:
    clip = smooth_clip(200, seed=2)
    folder = tmp_path / "video"
    folder.mkdir()
    for i, frame in enumerate(clip, start=1):
        cv2.imwrite(str(folder / f"images{i:04d}.png"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    model = calibrated("baseline", {"width": 4, "hidden": 16, "lstm_hidden": 8, "lstm_layers": 1}, clip)
    path = tmp_path / "model.safetensors"
    write_package(package_model("baseline", model, model.state_dict(), {"glosses": ["A", "B", "C", "D", "E"]}, VIEW),
                  path)

    def recognise(*options: str) -> list[dict]:
        result = CliRunner().invoke(app, ["recognize", str(folder), "--model", str(path), "--json", *options])
        assert result.exit_code == 0, result.output
        return json.loads(result.output)["glosses"]

    whole = recognise("--window", "0")
    assert whole and recognise("--window", "64", "--overlap", "32") == whole
    misaligned = CliRunner().invoke(app, ["recognize", str(folder), "--model", str(path), "--window", "30"])
    assert misaligned.exit_code == 2 and "multiples of the model's temporal stride 4" in misaligned.output


def test_a_frame_folder_is_read_one_window_at_a_time(tmp_path: Path) -> None:
    clip = smooth_clip(12)
    for i, frame in enumerate(clip, start=1):
        cv2.imwrite(str(tmp_path / f"images{i:04d}.png"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    folder = FrameFolder(tmp_path)
    assert len(folder) == 12 and np.array_equal(folder[3:7], read_frames(tmp_path)[3:7])
    assert np.array_equal(folder[3:7], clip[3:7])  # PNG is lossless
    cv2.imwrite(str(tmp_path / "images0013.png"), np.zeros((20, 40, 3), np.uint8))
    with pytest.raises(FrameReadError, match="differs from the first frame"):
        FrameFolder(tmp_path)[10:13]


def test_a_video_file_is_decoded_forward_one_window_at_a_time(tmp_path: Path) -> None:
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (40, 40))
    for frame in smooth_clip(30):
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    whole = read_frames(path)
    video = VideoFrames(path)
    assert len(video) == len(whole) == 30
    for start, stop in [(0, 12), (4, 20), (16, 30)]:  # overlapping windows, as windowed decoding reads them
        assert np.array_equal(video[start:stop], whole[start:stop])
        assert len(video._kept) == stop - start  # only the latest window is held
    assert np.array_equal(video[2:6], whole[2:6])  # an earlier slice reopens the file


@pytest.mark.parametrize(("kind", "config"), [
    ("baseline", {"width": 4, "hidden": 16, "lstm_hidden": 8, "lstm_layers": 1}),
    ("smkd", {"width": 4, "hidden": 16, "lstm_hidden": 8, "lstm_layers": 1}),
    ("ctca", {"width": 4, "tcn_channels": 16, "lstm_hidden": 8, "lstm_layers": 1}),
    ("lrinet", {"resolution": 32, "channels": 32, "width": 4, "feature_size": 3}),
    ("mstnet", {"backbone": "resnet18", "width": 4, "hidden": 16, "heads": 2, "transformer_layers": 1}),
    ("signkd_student", {"width": 0.125}),
    ("signkd_teacher", {"width": 0.125, "streams": ["rgb"]}),
])
def test_each_recogniser_says_its_true_temporal_stride(kind: str, config: dict) -> None:
    model = build_recognizer(kind, 6, config).eval()
    stride = model.temporal_stride
    steps = []
    for frames in (64, 64 + 4 * stride):
        clip = torch.zeros(1, frames, 32, 32, 3, dtype=torch.uint8)
        with torch.no_grad():
            steps.append(int(model({"video": clip, "lengths": torch.tensor([frames])})["out_lengths"][0]))
    assert steps[1] - steps[0] == 4  # 4 x stride more frames: 4 more output steps
