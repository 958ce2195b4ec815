"""Video in, glosses out: one video's input pipeline equals what the stores and the evaluation dataset give."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from signdistill.data.clips import AlignedStreams, Augmentation, ClipRecord, SignClipDataset
from signdistill.data.corpora import Sample
from signdistill.data.features import FeatureConfig, FeatureStore, build_feature_store
from signdistill.data.frames import read_frames
from signdistill.data.store import FrameStore, build_frame_store
from signdistill.data.vocabulary import Vocabulary
from signdistill.decoding.video import StageTimer, end_to_end_latency, recognise_video, video_batch
from signdistill.models.registry import build_recognizer
from signdistill.synth.corpus import get_preset, plan_corpus, render_video
from signdistill.synth.lexicon import rest_glosses

pytestmark = pytest.mark.usefixtures("one_thread")
VIEW = {"store_size": 128, "crop": 112, "streams": ["flow", "keypoints"]}


@pytest.fixture(scope="module")
def stored(tmp_path_factory) -> tuple[Path, Sample, FeatureConfig]:
    """A rendered signer video (20 frames) in a frame store at 128 and 64 px and in a feature store."""
    root = tmp_path_factory.mktemp("video")
    preset = get_preset("tiny")
    lexicon, signers, plans = plan_corpus(preset, 0)
    plan = next(p for p in plans if p.split == "test")
    frames, _, _ = render_video(plan, {g.name: g for g in lexicon + rest_glosses()}, signers[plan.signer], 0,
                                preset.width, preset.height)
    folder = root / "raw" / plan.id
    folder.mkdir(parents=True)
    for i, frame in enumerate(frames[:20], start=1):
        cv2.imwrite(str(folder / f"images{i:04d}.png"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    sample = Sample(plan.id, "test", "Signer01", ("A",), folder, "A", 20)
    build_frame_store([sample], [128, 64], root / "store", root / "frame_cache", workers=1, progress=False)
    config = FeatureConfig(flow_size=64)
    build_feature_store([sample], config, root / "store", root / "features", root / "feature_cache", workers=1,
                        progress=False)
    return root, sample, config


def test_one_video_gets_exactly_the_evaluation_inputs(stored) -> None:
    root, sample, config = stored
    features = FeatureStore(root / "features")
    streams = AlignedStreams(flow=features.flow("test"), keypoints=features.keypoints(), scale=64 / 128)
    dataset = SignClipDataset(FrameStore(root / "store").split(128, "test"), [ClipRecord(sample.id, ("A",), "S")],
                              Vocabulary(("A",)), Augmentation(crop=112, train=False), streams=streams)
    expected = dataset[0]
    timer = StageTimer()
    batch = video_batch(read_frames(sample.source), VIEW, config, timer=timer)
    assert torch.equal(batch["video"][0], expected["video"])
    assert torch.allclose(batch["flow"][0], expected["flow"])
    assert torch.allclose(batch["keypoints"][0], expected["keypoints"], atol=1e-4)
    assert batch["flow"].shape == (1, 20, 2, 56, 56) and batch["lengths"].tolist() == [20]
    assert set(timer.seconds) == {"rgb", "flow", "keypoints"} and all(s > 0 for s in timer.seconds.values())


def test_a_low_resolution_view_resizes_the_centre_crop(stored) -> None:
    _, sample, _ = stored
    frames = read_frames(sample.source)
    batch = video_batch(frames, {"store_size": 128, "crop": 112, "resize": 40})
    assert batch["video"].shape == (1, 20, 40, 40, 3) and set(batch) == {"video", "lengths"}
    with pytest.raises(ValueError, match="FeatureConfig"):
        video_batch(frames, VIEW)


def test_student_and_teacher_run_end_to_end_and_are_timed(stored) -> None:
    _, sample, config = stored
    vocab = Vocabulary(("A", "B"))
    teacher = build_recognizer("signkd_teacher", len(vocab), {"width": 0.125, "streams": ["rgb", "heatmap", "flow"],
                                                              "heatmap_sigma": 2.0}).eval()
    student = build_recognizer("signkd_student", len(vocab), {"width": 0.125}).eval()
    with torch.no_grad():
        student.head.classifier.bias[0] -= 10.0  # untrained: keep its blank from hiding every gloss
        out = student(video_batch(read_frames(sample.source), {"store_size": 128, "crop": 112}))
    best = out["log_probs"][: int(out["out_lengths"][0]), 0].argmax(-1).tolist()
    expected = vocab.decode([k for i, k in enumerate(best) if k and (i == 0 or best[i - 1] != k)])  # CTC greedy
    glosses = recognise_video(student, read_frames(sample.source), {"store_size": 128, "crop": 112}, vocab, None,
                              "greedy")
    assert glosses and glosses == expected
    result = end_to_end_latency({"teacher": (teacher, VIEW, vocab),
                                 "student": (student, {"store_size": 128, "crop": 112}, vocab)},
                                sample.source, config, "greedy", repeats=1)
    teacher_s, student_s = result["seconds"]["teacher"], result["seconds"]["student"]
    assert {"read", "rgb", "flow", "keypoints", "model", "decode", "total"} <= set(teacher_s)
    assert "flow" not in student_s and result["frames"] == 20
    assert teacher_s["total"] == pytest.approx(sum(v for k, v in teacher_s.items() if k != "total"))
    assert result["ratio"] == pytest.approx(teacher_s["total"] / student_s["total"])
    assert np.isfinite(result["ratio"]) and result["ratio"] > 1  # flow + MediaPipe + three encoders vs one
