"""MediaPipe Holistic -> COCO-WholeBody-133: shapes, sides (left/right hands, face contour) and accuracy.

SynthSign's ground truth says exactly where every keypoint is, so one short rendered video checks the
whole mapping: a swapped hand table or a mirrored face table would put keypoints on the wrong side.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from signdistill.pose.holistic import (
    MESH_TO_IBUG68,
    POSE_TO_COCO_BODY,
    HolisticExtractor,
    HolisticResult,
    detection_rates,
    interpolate_keypoints,
    landmarks_to_coco,
)
from signdistill.pose.layout import FACE, HFLIP, LEFT_HAND, NUM_KEYPOINTS, RIGHT_HAND
from signdistill.synth.corpus import get_preset, plan_corpus, render_video
from signdistill.synth.lexicon import rest_glosses

MAX_FRAMES = 60  # about 2.5 s of video: enough for signing with both hands, quick to extract


@pytest.fixture(scope="module")
def video() -> tuple[np.ndarray, np.ndarray, HolisticResult]:
    preset = get_preset("tiny")
    lexicon, signers, plans = plan_corpus(preset, 0)
    by_name = {g.name: g for g in lexicon + rest_glosses()}
    plan = next(p for p in plans if p.split == "train")
    frames, gt, _ = render_video(plan, by_name, signers[plan.signer], 0, preset.width, preset.height)
    frames, gt = frames[:MAX_FRAMES], gt[:MAX_FRAMES]
    with HolisticExtractor() as extractor:
        result = extractor.extract(frames)
    return frames, gt, result


def test_shapes_and_flags(video) -> None:
    frames, _, result = video
    t = len(frames)
    assert result.keypoints.shape == (t, NUM_KEYPOINTS, 3) and result.keypoints.dtype == np.float32
    for part in ("body", "left_hand", "right_hand", "face"):
        flags = result.flags(part)
        assert flags.shape == (t,) and flags.dtype == bool
    # parts not found have score 0 and coordinates 0
    for part, index in (("left_hand", LEFT_HAND), ("right_hand", RIGHT_HAND), ("face", FACE)):
        missing = ~result.flags(part)
        assert (result.keypoints[missing][:, index] == 0).all()
        assert (result.keypoints[result.flags(part)][:, index, 2] == 1).all()


def test_body_is_found_and_accurate(video) -> None:
    _, gt, result = video
    rates = detection_rates(result, gt)
    assert rates["body"] >= 0.9
    assert rates["body_pck"] > 0.5  # PCK@0.1 of shoulder width over body points 0-10
    assert rates["face_pck"] > 0.8


def _mean_distance(pred: np.ndarray, gt: np.ndarray) -> float:
    return float(np.linalg.norm(pred[..., :2] - gt[..., :2], axis=-1).mean())


@pytest.mark.parametrize(("part", "own", "other"), [("right_hand", RIGHT_HAND, LEFT_HAND),
                                                    ("left_hand", LEFT_HAND, RIGHT_HAND)])
def test_hand_sides_are_not_swapped(video, part: str, own: np.ndarray, other: np.ndarray) -> None:
    """MediaPipe's left hand is the person's left, as in COCO-WholeBody: a detected right hand must lie on
    the ground-truth right hand (112-132), far from the left hand (91-111)."""
    _, gt, result = video
    found = result.flags(part)
    assert found.sum() >= 10, f"{part} found in only {found.sum()} frames"
    pred = result.keypoints[found][:, own]
    same, swapped = _mean_distance(pred, gt[found][:, own]), _mean_distance(pred, gt[found][:, other])
    assert same < 0.5 * swapped
    shoulder = float(np.linalg.norm(gt[:, 5, :2] - gt[:, 6, :2], axis=1).mean())
    assert same < 0.2 * shoulder


def test_face_contour_starts_on_the_image_left(video) -> None:
    """iBUG point 0 (COCO 23) is on the person's right, i.e. the image's left, of point 16 (COCO 39)."""
    _, gt, result = video
    found = result.face
    assert found.mean() > 0.9
    kp = result.keypoints[found]
    assert (kp[:, 23, 0] < kp[:, 39, 0]).all()
    assert (kp[:, 23 + 36, 0] < kp[:, 23 + 45, 0]).all()  # right eye's outer corner left of the left eye's
    mirrored = gt[found][:, HFLIP[FACE]]  # the face table read the other way round
    assert _mean_distance(kp[:, FACE], gt[found][:, FACE]) < 0.5 * _mean_distance(kp[:, FACE], mirrored)


def test_tables_are_complete() -> None:
    assert len(MESH_TO_IBUG68) == 68 and len(set(MESH_TO_IBUG68.tolist())) == 68
    assert len(POSE_TO_COCO_BODY) == 17 and (MESH_TO_IBUG68 < 468).all()


def _landmarks(points: list[tuple[float, float]], visibility: float = 0.9) -> SimpleNamespace:
    return SimpleNamespace(landmark=[SimpleNamespace(x=x, y=y, visibility=visibility) for x, y in points])


def test_landmarks_to_coco_scales_and_places() -> None:
    """Normalised MediaPipe coordinates become source pixels; every table entry lands where it should."""
    rng = np.random.default_rng(0)
    pose = rng.uniform(0, 1, (33, 2))
    left, right = rng.uniform(0, 1, (21, 2)), rng.uniform(0, 1, (21, 2))
    face = rng.uniform(0, 1, (468, 2))
    kp = landmarks_to_coco(_landmarks(pose), _landmarks(left), _landmarks(right), _landmarks(face), 210, 260)
    scale = np.array([210, 260])
    np.testing.assert_allclose(kp[:17, :2], pose[POSE_TO_COCO_BODY] * scale, rtol=1e-5)
    np.testing.assert_allclose(kp[:17, 2], 0.9, rtol=1e-6)
    np.testing.assert_allclose(kp[LEFT_HAND, :2], left * scale, rtol=1e-5)
    np.testing.assert_allclose(kp[RIGHT_HAND, :2], right * scale, rtol=1e-5)
    np.testing.assert_allclose(kp[FACE, :2], face[MESH_TO_IBUG68] * scale, rtol=1e-5)
    assert kp[18, 2] == 0 and kp[21, 2] == 0  # MediaPipe has no small toes
    empty = landmarks_to_coco(None, None, None, None, 210, 260)
    assert (empty == 0).all()


def test_detection_rates_among_visible_frames() -> None:
    t = 4
    gt = np.zeros((t, NUM_KEYPOINTS, 3), np.float32)
    gt[:, :, 2] = 1
    gt[:, 5, :2], gt[:, 6, :2] = (0, 0), (100, 0)
    gt[2:, RIGHT_HAND, 2] = 0  # right hand out of the frame in the last two frames
    pred = gt.copy()
    pred[:, :11, :2] += 5  # within 0.1 x shoulder width (10 px)
    pred[:, RIGHT_HAND, :2] += 20  # beyond it
    flags = np.array([True, False, True, True])
    result = HolisticResult(pred, body=np.ones(t, bool), left_hand=flags, right_hand=flags, face=np.zeros(t, bool))
    rates = detection_rates(result, gt)
    assert rates["left_hand"] == 0.75 and rates["left_hand_visible"] == 0.75
    assert rates["right_hand_frames_visible"] == 2 and rates["right_hand_visible"] == 0.5
    assert rates["body_pck"] == 1.0 and rates["right_hand_pck"] == 0.0
    assert np.isnan(rates["face_pck"])


def test_each_video_starts_afresh(video) -> None:
    """``extract`` resets MediaPipe's tracking: the same frames give the same keypoints the second time."""
    frames, _, _ = video
    with HolisticExtractor() as extractor:
        first = extractor.extract(frames[:20])
        extractor.extract(frames[30:40])
        again = extractor.extract(frames[:20])
    np.testing.assert_array_equal(first.keypoints, again.keypoints)


def test_interpolation_between_sampled_frames() -> None:
    sampled = np.zeros((3, 2, 3), np.float32)
    sampled[:, 0] = [[0, 0, 1], [10, 20, 0.8], [20, 40, 1]]  # found in every sample
    sampled[:, 1] = [[5, 5, 1], [0, 0, 0], [7, 7, 1]]  # missing in the middle sample
    out = interpolate_keypoints(sampled, np.array([0, 2, 5]), 6)
    assert out.shape == (6, 2, 3)
    np.testing.assert_allclose(out[[0, 2, 5], 0], sampled[:, 0])  # samples are kept exactly
    np.testing.assert_allclose(out[1, 0], [5, 10, 0.8])  # halfway, the weaker score
    np.testing.assert_allclose(out[3, 0], [10 + 10 / 3, 20 + 20 / 3, 0.8], rtol=1e-6)
    assert not out[1:5, 1].any()  # next to a missing sample: not found, not guessed


def test_stride_runs_mediapipe_on_fewer_frames(video) -> None:
    frames, gt, full = video
    with HolisticExtractor() as extractor:
        strided = extractor.extract(frames, stride=3)
    assert strided.keypoints.shape == full.keypoints.shape
    np.testing.assert_array_equal(strided.keypoints[0], full.keypoints[0])  # same first frame, same graph
    rates = detection_rates(strided, gt)
    assert rates["body"] > 0.9 and rates["body_pck"] > 0.4
