"""Glosses with time spans from CTC spikes, and ``signdistill recognize`` on a real video folder."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import pytest
import torch
from typer.testing import CliRunner

from signdistill.console import app
from signdistill.decoding.ctc import greedy_decode
from signdistill.decoding.spans import spike_spans
from signdistill.models.registry import build_recognizer, package_model, read_package, write_package
from signdistill.synth.corpus import get_preset, plan_corpus, render_video
from signdistill.synth.lexicon import rest_glosses

pytestmark = pytest.mark.usefixtures("one_thread")


def test_spans_reach_halfway_to_the_neighbouring_spikes() -> None:
    # 12 output steps over 48 frames at 25 fps: step k is centred on frame 4k + 2
    spans = spike_spans(["A", "B", "C"], [2, 5, 9], steps=12, frames=48, fps=25.0)
    assert [s.gloss for s in spans] == ["A", "B", "C"]
    assert [s.spike_s * 25 for s in spans] == pytest.approx([10, 22, 38])
    assert [s.start_s * 25 for s in spans] == pytest.approx([4, 16, 30])
    assert [s.end_s * 25 for s in spans] == pytest.approx([16, 30, 46])
    assert spike_spans([], [], steps=12, frames=48, fps=25.0) == []


def test_spikes_of_a_real_decode_place_the_glosses() -> None:
    steps, classes = 10, 3  # blank, A, B: A peaks at step 2, B at step 7
    log_probs = torch.full((steps, 1, classes), -5.0)
    log_probs[:, 0, 0] = -0.01
    log_probs[2, 0] = torch.tensor([-5.0, -0.01, -5.0])
    log_probs[7, 0] = torch.tensor([-5.0, -5.0, -0.01])
    hypothesis = greedy_decode(log_probs)[0]
    assert hypothesis.ids == [1, 2] and hypothesis.spikes == [2, 7]
    spans = spike_spans(["A", "B"], hypothesis.spikes, steps, frames=40, fps=10.0)
    assert spans[0].end_s == spans[1].start_s == pytest.approx(((2.5 + 7.5) / 2) * 4 / 10)


@pytest.fixture(scope="module")
def video_and_model(tmp_path_factory) -> tuple[Path, Path]:
    """A rendered SynthSign video (30 frames) and a packaged baseline recogniser (untrained: the test is of the
    command, not of a model's accuracy; its blank is biased away so that it emits glosses to place)."""
    root = tmp_path_factory.mktemp("recognize")
    preset = get_preset("tiny")
    lexicon, signers, plans = plan_corpus(preset, 0)
    plan = plans[0]
    frames, _, _ = render_video(plan, {g.name: g for g in lexicon + rest_glosses()}, signers[plan.signer], 0,
                                preset.width, preset.height)
    folder = root / "video"
    folder.mkdir()
    for i, frame in enumerate(frames[:30], start=1):
        cv2.imwrite(str(folder / f"images{i:04d}.jpg"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    torch.manual_seed(0)
    glosses = sorted({g.name for g in lexicon})
    config = {"width": 4, "hidden": 16, "lstm_hidden": 8, "lstm_layers": 1}
    model = build_recognizer("baseline", len(glosses) + 1, config)
    with torch.no_grad():
        model.classifier.bias[0] -= 10.0
    package = package_model("baseline", model, model.state_dict(), {"glosses": glosses},
                            {"store_size": 40, "crop": 36})
    path = root / "model.safetensors"
    write_package(package, path)
    return folder, path


def test_recognize_prints_glosses_with_spans_as_json(video_and_model) -> None:
    folder, model = video_and_model
    result = CliRunner().invoke(app, ["recognize", str(folder), "--model", str(model), "--json", "--fps", "25"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["frames"] == 30 and payload["fps"] == 25
    spans = payload["glosses"]
    assert spans and all(set(span) == {"gloss", "start_s", "end_s", "spike_s"} for span in spans)
    times = [t for span in spans for t in (span["start_s"], span["spike_s"], span["end_s"])]
    assert times == sorted(times) and all(0 <= t <= 30 / 25 for t in times)
    plain = CliRunner().invoke(app, ["recognize", str(folder), "--model", str(model)])
    assert plain.exit_code == 0 and len(plain.output.splitlines()) == len(spans)


def test_recognize_says_what_a_feature_model_lacks(video_and_model, tmp_path: Path) -> None:
    folder, model = video_and_model
    package = read_package(model)
    package["data"] = {**package["data"], "streams": ["flow", "keypoints"]}
    streams_model = tmp_path / "teacher.safetensors"
    write_package(package, streams_model)
    missing = tmp_path / "nowhere.yml"
    result = CliRunner().invoke(app, ["recognize", str(folder), "--model", str(streams_model),
                                      "--features-config", str(missing)])
    assert result.exit_code == 2
    assert "reads flow and keypoints" in result.output and str(missing) in result.output
    no_env = CliRunner().invoke(app, ["recognize", str(folder), "--model", str(streams_model), "--env", "nowhere"])
    assert no_env.exit_code == 2 and "no configuration environment 'nowhere'" in no_env.output
    gone = CliRunner().invoke(app, ["recognize", str(tmp_path / "no_video"), "--model", str(model)])
    assert gone.exit_code == 2 and "no_video" in gone.output
