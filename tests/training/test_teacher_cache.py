"""Offline distillation: cached teacher targets equal the online teacher's, views cycle, keys follow the teacher."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from signdistill.data.clips import AlignedStreams, Augmentation, ClipRecord, SignClipDataset, collate_clips
from signdistill.data.vocabulary import Vocabulary
from signdistill.distillation.signkd import SignKDDistiller, teacher_inputs
from signdistill.flow.quantise import quantise_flow
from signdistill.models.signkd import SignKDStudent, SignKDStudentConfig, SignKDTeacher, SignKDTeacherConfig
from signdistill.training.teacher_cache import TeacherTargetDataset, cache_key

VOCAB = Vocabulary.from_sequences([["A", "B", "C"]])


# the student's and the teacher's frames: one 16 px crop, or (distill_combined) the student at 8 px and the
# teacher at 12 px of the same crop
VIEWS = {"one resolution": {}, "two resolutions": {"crop_key": None,
                                                   "resized_views": (("video", 8), ("video_teacher", 12))}}


def _clips(**views) -> SignClipDataset:
    """Four random clips of different lengths with flow and keypoints at half the RGB store's size."""
    rng = np.random.default_rng(0)
    frames, records, flow, keypoints = {}, [], {}, {}
    for i in range(4):
        length = int(rng.integers(28, 36))
        frames[f"v{i}"] = rng.integers(0, 255, (length, 20, 20, 3), dtype=np.uint8)
        records.append(ClipRecord(f"v{i}", tuple(rng.choice(["A", "B", "C"], 3)), "s1"))
        flow[f"v{i}"] = quantise_flow(rng.normal(0, 3, (length, 10, 10, 2)))
        points = rng.uniform(0, 20, (length, 133, 3)).astype(np.float32)
        points[..., 2] = 1.0
        keypoints[f"v{i}"] = {"keypoints": points, "frame_size": (20, 20)}
    streams = AlignedStreams(flow=flow, keypoints=keypoints, scale=0.5)
    return SignClipDataset(frames, records, VOCAB, Augmentation(crop=16, train=True, **views), seed=3,
                           streams=streams)


def _distiller(seed: int = 0) -> SignKDDistiller:
    torch.manual_seed(seed)
    teacher = SignKDTeacher(SignKDTeacherConfig(len(VOCAB), width=0.125, heatmap_sigma=1.0)).eval()
    student = SignKDStudent(SignKDStudentConfig(len(VOCAB), width=0.125))
    return SignKDDistiller(teacher, student)


@pytest.mark.parametrize("views", list(VIEWS.values()), ids=list(VIEWS))
def test_cached_targets_give_the_online_losses(tmp_path: Path, views: dict) -> None:
    """Student losses from cached targets (float16, each clip computed alone) equal those of the online teacher
    on the same clips, which a batch pads; the padded steps are masked out of both. With two resolutions both
    teachers read their own frames (``video_teacher``), the student its own."""
    distiller = _distiller().train()
    cached = TeacherTargetDataset(_clips(**views), tmp_path / "cache", views=2)
    cached.build(distiller.teacher)
    online = _clips(**views)
    for epoch in (0, 2):
        cached.set_epoch(epoch)
        online.set_epoch(epoch % 2)
        items = [cached[0], cached[1]]
        plain = [online[0], online[1]]
        assert torch.equal(items[0]["video"], plain[0]["video"])  # view e % 2 is the clip of epoch e % 2
        assert "video_teacher" not in items[0] and items[0]["video"].shape[1] == (8 if views else 16)
        torch.manual_seed(1)
        distiller.student.eval()  # batch norm in eval mode: both passes see the same student function
        with_cache = distiller(collate_clips(items))["losses"]
        without = distiller(collate_clips(plain))["losses"]
        assert set(with_cache) == set(without) == {"ctc", "kd_feature", "kd_output"}
        for name in with_cache:
            expected = pytest.approx(float(without[name].detach()), rel=2e-2, abs=2e-3)
            assert float(with_cache[name].detach()) == expected, name


def test_items_leave_out_what_only_the_teacher_reads(tmp_path: Path) -> None:
    """Once cached, the teacher's streams and crop are not loaded; the student's video is the same clip."""
    clips = _clips()
    teacher_view = SignClipDataset(clips.packed, clips.records, VOCAB, Augmentation(
        crop=16, train=True, crop_key="video_teacher", resized_views=(("video", 12),)), seed=3, streams=clips.streams)
    cached = TeacherTargetDataset(teacher_view, tmp_path / "cache", views=2)
    cached.build(_distiller().teacher)
    for epoch in (0, 1):
        cached.set_epoch(epoch)
        teacher_view.set_epoch(epoch)
        item, full = cached[1], teacher_view[1]
        assert {"flow", "keypoints", "video_teacher"} <= set(full)
        assert not {"flow", "keypoints", "video_teacher"} & set(item)
        assert torch.equal(item["video"], full["video"]) and torch.equal(item["labels"], full["labels"])
        assert {k for k in item if k.startswith("teacher_")} == {f"teacher_stage{i}" for i in range(1, 5)} | {
            "teacher_log_probs"}


def test_views_are_built_once_and_resumed(tmp_path: Path) -> None:
    distiller = _distiller()
    cached = TeacherTargetDataset(_clips(), tmp_path / "cache", views=3)
    cached.build(distiller.teacher)
    stamps = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "cache").iterdir()}
    assert sorted(stamps) == ["view0.pt", "view1.pt", "view2.pt"]
    (tmp_path / "cache" / "view1.pt").unlink()  # a build killed before this view was written
    cached.build(distiller.teacher)
    after = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "cache").iterdir()}
    assert after["view0.pt"] == stamps["view0.pt"] and after["view2.pt"] == stamps["view2.pt"]
    assert (tmp_path / "cache" / "view1.pt").exists()


def test_missing_view_names_the_file(tmp_path: Path) -> None:
    cached = TeacherTargetDataset(_clips(), tmp_path / "cache", views=2)
    with pytest.raises(FileNotFoundError, match="view0.pt"):
        cached.set_epoch(0)


def test_key_changes_with_the_teacher_and_the_data_view() -> None:
    teacher = _distiller(0).teacher
    view = {"store_size": 64, "crop": 56}
    key = cache_key(teacher, view, 4, 0)
    assert cache_key(teacher, view, 4, 0) == key
    assert cache_key(_distiller(1).teacher, view, 4, 0) != key  # a retrained teacher
    assert cache_key(teacher, {**view, "crop": 48}, 4, 0) != key
    assert cache_key(teacher, view, 2, 0) != key
    assert cache_key(teacher, view, 4, 1) != key


def test_the_teacher_reads_its_own_frames() -> None:
    """Across resolutions the distiller's output loss is against the teacher's prediction on ``video_teacher``
    (its stage grids follow its own 12 px frames), not on the student's 8 px ones."""
    distiller = _distiller().train()
    distiller.student.eval()
    batch = collate_clips([_clips(**VIEWS["two resolutions"])[i] for i in (0, 1)])
    torch.manual_seed(1)
    out = distiller(batch)
    own = distiller.teacher(teacher_inputs(batch))
    assert torch.equal(out["teacher_log_probs"], own["log_probs"]) and own["stage_features"][0].shape[-1] == 6
    other = distiller.teacher({**teacher_inputs(batch), "video": batch["video"]})
    assert other["stage_features"][0].shape[-1] == 4 and not torch.equal(other["log_probs"], own["log_probs"])
