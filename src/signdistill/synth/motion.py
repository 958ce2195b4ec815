"""From a gloss sequence to per-frame poses: sign trajectories, co-articulated transitions, mouthing.

Each gloss contributes a segment whose length follows the gloss's duration and the signer's tempo;
between two signs the hands travel from the end of one to the start of the next with a smooth
(ease-in-out) transition in which hand shape and orientation already change: co-articulation. The
per-frame alignment labels every frame with the position of its gloss in the sentence, and transition
frames with -1. In every frame the two hands keep a gap (``MIN_HAND_GAP``): symmetric signs move apart
together, and the passive hand steps aside, so that keypoint detectors see two separate hands.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from signdistill.synth.body import HAND_LENGTH, HandState, PoseState, hand_extent
from signdistill.synth.lexicon import (
    HANDSHAPES,
    LOCATIONS,
    ORIENTATIONS,
    REST_LOCATION,
    REST_ORIENTATION,
    Gloss,
)

TRANSITION = -1


def _smooth(x: float) -> float:
    x = min(max(x, 0.0), 1.0)
    return x * x * (3.0 - 2.0 * x)


def handshape_state(name: str, pos: np.ndarray, orientation: str | tuple[float, float]) -> HandState:
    shape = HANDSHAPES[name]
    angle, facing = ORIENTATIONS[orientation] if isinstance(orientation, str) else orientation
    return HandState(np.asarray(pos, float), np.array(shape["base"], float), np.array(shape["tip"], float),
                     float(shape["spread"]), float(shape["opp"]), angle, facing)


def rest_hand() -> HandState:
    return handshape_state("FLAT", np.array(REST_LOCATION), REST_ORIENTATION)


def _trajectory(g: Gloss, s: float, offset: np.ndarray) -> np.ndarray:
    a = np.array(LOCATIONS[g.start]) + offset
    b = np.array(LOCATIONS[g.end]) + offset
    e = _smooth(s)
    if g.movement == "straight":
        return a + e * (b - a)
    if g.movement == "arc":
        d = b - a
        perp = np.array([-d[1], d[0]]) / (np.linalg.norm(d) + 1e-6)
        return a + e * d + g.direction * 0.3 * np.sin(np.pi * e) * perp
    if g.movement == "circle":
        turns = min(g.repeats, 2) - 0.0
        theta = g.direction * 2 * np.pi * turns * s
        return a + 0.17 * np.array([np.cos(theta) - 1.0, np.sin(theta)])
    if g.movement == "tap":
        d = b - a
        d = g.direction * 0.22 * d / (np.linalg.norm(d) + 1e-6) if np.linalg.norm(d) > 1e-6 else np.array([0, 0.2])
        return a + d * abs(np.sin(np.pi * g.repeats * s))
    # wiggle: the hand hovers, drifting slightly, while the fingers move
    return a + 0.04 * np.array([np.sin(2 * np.pi * s), 0.0])


def _sign_hand(g: Gloss, s: float, offset: np.ndarray) -> HandState:
    start = handshape_state(g.handshape, _trajectory(g, s, offset), g.orientation)
    end = handshape_state(g.end_handshape, start.pos, g.orientation)
    hand = start.lerp(end, _smooth(s))
    if g.movement == "wiggle":
        phases = np.arange(5) * (0.9 * g.direction)
        wave = 0.35 * np.sin(2 * np.pi * g.repeats * s + phases)
        hand.base = np.clip(hand.base + wave, 0, 1)
        hand.tip = np.clip(hand.tip + 0.6 * wave, 0, 1)
    if g.movement == "arc":
        hand.angle += g.direction * 25.0 * (_smooth(s) - 0.5)
    return hand


# Two hands never touch: detectors lose both when they overlap (MediaPipe finds a hand from a crop
# around it, and a second hand in that crop breaks it), and signers of most signs keep them apart too.
# The gap is measured between the drawn hands (fingers included), in shoulder widths.
MIN_HAND_GAP = 0.30
_MAX_OUTWARD = -1.0  # the passive hand is not pushed further out than this (its own mirrored x)


# No drawn point of a hand lies further than this from its palm centre (shoulder widths): the middle
# fingertip, one hand length from the wrist, is 0.75 hand lengths beyond the palm centre.
_HAND_REACH = 0.8 * HAND_LENGTH


def hand_gap(right: HandState, left: HandState) -> float:
    """Smallest distance between the two drawn hands, in shoulder widths (a lower bound when far apart)."""
    centre_distance = float(np.hypot(right.pos[0] + left.pos[0], right.pos[1] - left.pos[1]))
    if centre_distance > 2 * _HAND_REACH + MIN_HAND_GAP:
        return centre_distance - 2 * _HAND_REACH
    a, b = hand_extent(right, False), hand_extent(left, True)
    return float(np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)).min())


def _separate_mirror(dominant: HandState) -> None:
    """Move a symmetric sign's hands outward together until their mirror images keep the gap."""
    for _ in range(12):
        gap = hand_gap(dominant, dominant)
        if gap >= MIN_HAND_GAP or dominant.pos[0] <= _MAX_OUTWARD:
            return
        dominant.pos[0] = max(dominant.pos[0] - 0.5 * (MIN_HAND_GAP - gap) - 0.01, _MAX_OUTWARD)


def separate_hands(pose: PoseState) -> None:
    """Push the passive (left) hand outward, then down, until it keeps ``MIN_HAND_GAP`` from the other."""
    left = pose.left
    for _ in range(16):
        gap = hand_gap(pose.right, left)
        if gap >= MIN_HAND_GAP:
            return
        step = MIN_HAND_GAP - gap + 0.01
        if left.pos[0] > _MAX_OUTWARD:
            left.pos = np.array([max(left.pos[0] - step, _MAX_OUTWARD), left.pos[1]])
        else:
            left.pos = np.array([left.pos[0], left.pos[1] + step])


def _second_hand(g: Gloss, dominant: HandState) -> HandState:
    if g.second_hand == "mirror":  # symmetric sign: the same state, mirrored by the body model
        _separate_mirror(dominant)
        return dominant.lerp(dominant, 0.0)
    if g.second_hand == "base":  # the passive hand waits beside the dominant hand's goal
        goal = np.array(LOCATIONS[g.end])
        base_pos = np.array([-(goal[0] + 0.62), goal[1] + 0.1])
        return handshape_state(g.base_handshape, base_pos, "in_front")
    return rest_hand()


_MOUTHS = {  # (openness envelope, width) per mouth pattern
    "pa": (lambda s: 0.9 * abs(np.sin(2 * np.pi * s)), 0.9),
    "oo": (lambda s: 0.55 * np.sin(np.pi * s), 0.55),
    "ee": (lambda s: 0.25 * np.sin(np.pi * s), 1.35),
    "ah": (lambda s: 1.0 * np.sin(np.pi * s), 1.05),
    "mm": (lambda s: 0.0, 0.85),
    "fff": (lambda s: 0.15 + 0.1 * np.sin(6 * np.pi * s), 1.2),
}


def _mouth(g: Gloss, s: float) -> tuple[float, float]:
    if not g.mouth:
        return 0.05, 1.0
    envelope, width = _MOUTHS[g.mouth]
    return float(envelope(s)), 1.0 + (width - 1.0) * float(np.sin(np.pi * min(max(s, 0), 1)))


def sign_pose(g: Gloss, s: float, offset: np.ndarray) -> PoseState:
    """The signer's pose at phase ``s`` in [0, 1] of gloss ``g``."""
    if g.category == "rest":
        return PoseState(rest_hand(), rest_hand())
    right = _sign_hand(g, s, offset)
    left = _second_hand(g, right)
    mouth_open, mouth_width = _mouth(g, s)
    nod = np.array([0.0, 0.03 * np.sin(np.pi * s)]) if g.mouth else np.zeros(2)
    return PoseState(right, left, mouth_open, mouth_width, head=nod)


def sentence_timeline(glosses: Sequence[Gloss], tempo: float, rng: np.random.Generator,
                      transition_frames: float = 4.0) -> tuple[list[PoseState], np.ndarray]:
    """Per-frame poses and the per-frame alignment (gloss position, or -1 in transitions)."""
    poses: list[PoseState] = []
    labels: list[int] = []
    previous_end: PoseState | None = None
    for position, g in enumerate(glosses):
        length = max(3, int(round(g.duration * tempo * rng.uniform(0.88, 1.12))))
        offset = rng.normal(0.0, 0.03, 2)
        start_pose = sign_pose(g, 0.0, offset)
        if previous_end is not None:
            gap = max(2, int(round(transition_frames * tempo * rng.uniform(0.8, 1.25))))
            for k in range(1, gap + 1):
                poses.append(previous_end.lerp(start_pose, _smooth(k / (gap + 1))))
                labels.append(TRANSITION)
        for k in range(length):
            poses.append(sign_pose(g, k / max(length - 1, 1), offset))
            labels.append(position)
        previous_end = poses[-1]
    for pose in poses:
        separate_hands(pose)
    _add_idle_motion(poses, rng)
    return poses, np.asarray(labels, np.int16)


def _add_idle_motion(poses: list[PoseState], rng: np.random.Generator) -> None:
    """Slow body sway and head drift, so that no two renditions are pixel-identical."""
    t = np.arange(len(poses))
    phase = rng.uniform(0, 2 * np.pi, 4)
    freq = rng.uniform(0.02, 0.05, 4)
    for i, pose in enumerate(poses):
        wave = np.sin(freq * t[i] + phase)
        pose.sway = pose.sway + 0.025 * np.array([wave[0], 0.3 * wave[1]])
        pose.head = pose.head + 0.02 * wave[2:]
