"""SynthSign kinematics and rendering invariants: keypoint layout, hands in frame, hand shapes, mirror
symmetry, separated hands, lexicon minimal pairs, ground truth that matches the pixels, determinism."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from signdistill.pose.layout import LEFT_HAND, NUM_KEYPOINTS, RIGHT_HAND
from signdistill.synth.body import BodyShape, PoseState, hand_local_points, pose_keypoints
from signdistill.synth.corpus import get_preset, plan_corpus, render_video
from signdistill.synth.lexicon import (
    HANDSHAPE_NAMES,
    HANDSHAPES,
    MOVEMENTS,
    build_lexicon,
    phonological_key,
    rest_glosses,
)
from signdistill.synth.motion import MIN_HAND_GAP, hand_gap, handshape_state, rest_hand, sentence_timeline, sign_pose
from signdistill.synth.render import background_texture, camera_effects, render_frame
from signdistill.synth.signer import make_signer

W, H = 210, 260
SHAPE = BodyShape(shoulder_px=75.0, neck_x=105.0, neck_y=115.0)
TIPS = [4, 8, 12, 16, 20]


@pytest.fixture(scope="module")
def default_plan():
    return plan_corpus(get_preset("default"), 0)


def test_keypoints_layout() -> None:
    sk = pose_keypoints(SHAPE, PoseState(rest_hand(), rest_hand()), W, H)
    assert sk.keypoints.shape == (NUM_KEYPOINTS, 3) and sk.keypoints.dtype == np.float32
    assert set(np.unique(sk.keypoints[:, 2]).tolist()) <= {0.0, 1.0}
    assert (sk.keypoints[:91, 2][:11] == 1).all()  # upper body in frame
    assert (sk.keypoints[15:17, 2] == 0).all()  # ankles below the frame


def test_hands_inside_the_frame_at_rest(default_plan) -> None:
    _, signers, _ = default_plan
    for signer in signers:
        for _ in range(3):
            shape = signer.jittered_shape(np.random.default_rng(0))
            kp = pose_keypoints(shape, PoseState(rest_hand(), rest_hand()), W, H).keypoints
            hands = kp[np.r_[LEFT_HAND, RIGHT_HAND]]
            assert (hands[:, 2] == 1).all(), signer.name
            assert (hands[:, 0] > 2).all() and (hands[:, 0] < W - 2).all() and (hands[:, 1] < H - 2).all()


def test_enough_distinct_hand_shapes() -> None:
    assert len(HANDSHAPES) >= 12 and len(HANDSHAPE_NAMES) == 17
    tips = {}
    for name in HANDSHAPE_NAMES:
        state = handshape_state(name, np.zeros(2), "in_front")
        tips[name] = hand_local_points(state)[TIPS]
    for a, b in itertools.combinations(HANDSHAPE_NAMES, 2):
        assert np.abs(tips[a] - tips[b]).max() > 0.05, (a, b)


def test_left_hand_mirrors_the_right() -> None:
    """The same hand state on both sides gives mirror-image keypoints about the body's midline."""
    for name, orientation in (("L", "in_front"), ("Y", "up_back"), ("CLAW", "out_up")):
        state = handshape_state(name, np.array([-0.3, 0.4]), orientation)
        kp = pose_keypoints(SHAPE, PoseState(state, state.lerp(state, 0.0)), 400, 400).keypoints
        right, left = kp[RIGHT_HAND, :2], kp[LEFT_HAND, :2]
        np.testing.assert_allclose(left[:, 0] - SHAPE.neck_x, SHAPE.neck_x - right[:, 0], atol=1e-3)
        np.testing.assert_allclose(left[:, 1], right[:, 1], atol=1e-3)
        np.testing.assert_allclose(kp[7, :2] * [-1, 1] + [2 * SHAPE.neck_x, 0], kp[8, :2], atol=1e-3)  # elbows


_CONTRAST_FIELDS = {
    "handshape": [{"handshape", "end_handshape"}, {"handshape"}],
    "direction": [{"start", "end"}, {"direction"}],
    "speed": [{"duration"}],
    "mouth": [{"mouth"}],
}


def test_minimal_pairs_differ_in_the_named_parameter_only() -> None:
    lexicon = build_lexicon(300, seed=4)
    bases = {g.family: g for g in lexicon if g.contrast == ""}
    variants = [g for g in lexicon if g.contrast]
    assert {g.contrast for g in variants} == set(_CONTRAST_FIELDS)
    for g in variants:
        base = bases[g.family]
        a, b = dict(phonological_key(base)), dict(phonological_key(g))
        changed = {k for k in a if a[k] != b[k]}
        assert changed in _CONTRAST_FIELDS[g.contrast] or (g.contrast == "handshape" and changed == {"handshape"}), (
            g.name, g.contrast, changed)


def test_phonological_forms_are_distinct() -> None:
    for seed in (0, 1):
        lexicon = build_lexicon(400, seed)
        assert len({phonological_key(g) for g in lexicon}) == len(lexicon)
        assert {g.movement for g in lexicon} == set(MOVEMENTS)


def test_hands_never_touch(default_plan) -> None:
    lexicon, signers, plans = default_plan
    by_name = {g.name: g for g in lexicon + rest_glosses()}
    rng = np.random.default_rng(0)
    for plan in plans[:12]:
        poses, alignment = sentence_timeline([by_name[n] for n in plan.glosses], 1.0, rng)
        assert len(poses) == len(alignment)
        assert min(hand_gap(p.right, p.left) for p in poses) >= MIN_HAND_GAP - 1e-6


def test_mouth_opens_and_closes(default_plan) -> None:
    lexicon, _, _ = default_plan
    gloss = next(g for g in lexicon if g.mouth in ("pa", "ah"))
    sizes = []
    for s in np.linspace(0, 1, 9):
        face = pose_keypoints(SHAPE, sign_pose(gloss, float(s), np.zeros(2)), W, H).keypoints[23:91, :2]
        sizes.append(float(np.linalg.norm(face[66] - face[62])))  # inner lips, bottom to top
    assert max(sizes) > 3.0 and min(sizes) < 1.0


def test_groundtruth_matches_the_pixels(default_plan) -> None:
    """Where the keypoints say the palms are, the clean frame shows skin, and the backdrop elsewhere."""
    _, signers, _ = default_plan
    for signer in signers:
        state = PoseState(handshape_state("FLAT", np.array([-0.4, 0.5]), "up_front"), rest_hand())
        sk = pose_keypoints(signer.shape, state, W, H)
        background = background_texture(signer.look, W, H)
        img = render_frame(sk, signer.look, background, signer.shape.shoulder_px).astype(int)
        for hand in (RIGHT_HAND, LEFT_HAND):
            palm = sk.keypoints[hand][[0, 5, 9, 17], :2].mean(0)
            x, y = np.round(palm).astype(int)
            patch = np.median(img[y - 2:y + 3, x - 2:x + 3].reshape(-1, 3), axis=0)  # past palm creases
            assert np.abs(patch - np.array(signer.look.skin)).max() < 30, signer.name
        assert (img[3, 3] == background[3, 3]).all()


def test_camera_effects_are_mild(default_plan) -> None:
    _, signers, _ = default_plan
    look = signers[0].look
    clean = render_frame(pose_keypoints(SHAPE, PoseState(rest_hand(), rest_hand()), W, H), look,
                         background_texture(look, W, H), SHAPE.shoulder_px)
    out = camera_effects(clean, clean, look, np.random.default_rng(0))
    assert out.dtype == np.uint8 and out.shape == clean.shape
    assert np.abs(out.astype(int) - clean).mean() < 8


def test_render_video_is_deterministic() -> None:
    preset = get_preset("tiny")
    lexicon, signers, plans = plan_corpus(preset, 0)
    by_name = {g.name: g for g in lexicon + rest_glosses()}
    plan = plans[1]
    a = render_video(plan, by_name, signers[plan.signer], 0, W, H)
    b = render_video(plan, by_name, signers[plan.signer], 0, W, H)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    frames, keypoints, alignment = a
    assert frames.shape == (len(keypoints), H, W, 3) and frames.dtype == np.uint8
    assert keypoints.shape == (len(frames), NUM_KEYPOINTS, 3) and alignment.shape == (len(frames),)
    c = render_video(plan, by_name, signers[plan.signer], 1, W, H)[0]
    assert c.shape != frames.shape or not np.array_equal(c, frames)


def test_signers_differ(default_plan) -> None:
    _, signers, _ = default_plan
    assert len({s.look.skin for s in signers}) > 1 and len({round(s.shape.shoulder_px) for s in signers}) > 1
    again = make_signer(0, 0, W, H)
    assert again == signers[0]
