"""Kinematics of the SynthSign signer: body, arms (two-link IK), 3-D hands with jointed fingers, face.

Everything is computed as COCO-WholeBody-133 keypoints in pixels, and the renderer draws the signer
from those keypoints, so the ground truth written with each video is exactly what is on screen.
Body units: shoulder width = 1, origin at the base of the neck, x to the image's right, y down.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from signdistill.pose.layout import FACE, LEFT_HAND, NUM_KEYPOINTS, RIGHT_HAND

# Hand geometry in hand lengths: MCP joints across the palm (u along the hand, v to the thumb side)
# and phalanx lengths per finger (proximal, middle, distal), from average adult hand proportions.
_MCP_UV = np.array([[0.47, 0.17], [0.50, 0.06], [0.48, -0.05], [0.44, -0.15]])
_PHALANGES = np.array([[0.22, 0.13, 0.10], [0.25, 0.15, 0.10], [0.23, 0.14, 0.10], [0.18, 0.10, 0.09]])
_THUMB_CMC = np.array([0.10, 0.13])
_THUMB_LENGTHS = np.array([0.20, 0.15, 0.12])
_FINGER_SPREAD_DEG = np.array([-9.0, -2.0, 5.0, 13.0])  # per finger at full spread (towards pinky)


@dataclass
class HandState:
    """One hand's configuration at one instant (see ``lexicon`` for the meaning of the fields)."""

    pos: np.ndarray  # palm centre, body units
    base: np.ndarray  # [5] base-joint flexion
    tip: np.ndarray  # [5] distal-joints flexion
    spread: float
    opp: float
    angle: float  # degrees, in-plane direction of the fingers
    facing: float  # degrees, rotation about the hand's long axis

    def lerp(self, other: HandState, w: float) -> HandState:
        mix = lambda a, b: (1.0 - w) * a + w * b  # noqa: E731
        return HandState(mix(self.pos, other.pos), mix(self.base, other.base), mix(self.tip, other.tip),
                         mix(self.spread, other.spread), mix(self.opp, other.opp), mix(self.angle, other.angle),
                         mix(self.facing, other.facing))


@dataclass
class PoseState:
    """Everything that moves in one frame."""

    right: HandState  # the person's right hand: the dominant one
    left: HandState
    mouth_open: float = 0.05
    mouth_width: float = 1.0
    head: np.ndarray = field(default_factory=lambda: np.zeros(2))  # head offset, body units
    sway: np.ndarray = field(default_factory=lambda: np.zeros(2))  # torso offset, body units

    def lerp(self, other: PoseState, w: float) -> PoseState:
        return PoseState(self.right.lerp(other.right, w), self.left.lerp(other.left, w),
                         (1 - w) * self.mouth_open + w * other.mouth_open,
                         (1 - w) * self.mouth_width + w * other.mouth_width,
                         (1 - w) * self.head + w * other.head, (1 - w) * self.sway + w * other.sway)


@dataclass(frozen=True)
class BodyShape:
    """Signer proportions and camera placement (pixels)."""

    shoulder_px: float
    neck_x: float
    neck_y: float
    head_scale: float = 1.0
    arm_scale: float = 1.0
    hand_scale: float = 1.0
    torso_length: float = 1.7


_MCP_3D = np.concatenate([_MCP_UV, np.zeros((4, 1))], 1)
_NORMAL = np.array([0.0, 0.0, 1.0])


def _finger_points(base: np.ndarray, tip: np.ndarray, spread: float) -> tuple[np.ndarray, np.ndarray]:
    """3-D joints (u, v, w) [4, 4, 3] of the four fingers (MCP, PIP, DIP, tip) and the unit normals [4, 3]
    of their nails; flexion curls a finger towards the palm normal (+w). Vectorised over the fingers:
    this runs for every hand of every frame."""
    spread_rad = np.radians(_FINGER_SPREAD_DEG * spread)
    direction = np.stack([np.cos(spread_rad), -np.sin(spread_rad), np.zeros(4)], 1)  # [4, 3]
    total = np.cumsum(np.radians(np.stack([90.0 * base, 100.0 * tip, 70.0 * tip], 1)), 1)  # [4, 3]
    steps = _PHALANGES[..., None] * (np.cos(total)[..., None] * direction[:, None, :]
                                     + np.sin(total)[..., None] * _NORMAL)
    joints = _MCP_3D[:, None, :] + np.cumsum(steps, 1)
    nails = np.sin(total[:, -1:]) * direction - np.cos(total[:, -1:]) * _NORMAL
    return np.concatenate([_MCP_3D[:, None, :], joints], 1), nails


def _thumb_points(base: float, tip: float, opp: float) -> list:
    """Thumb: abducted 40 degrees out of the palm when opp = 0, swung across and in front when opp = 1.

    As for the fingers, the last element is the unit normal of the thumb nail.
    """
    swing = np.radians(50.0 - 120.0 * opp)
    lift = np.radians(60.0 * opp)
    direction = np.array([np.cos(swing) * np.cos(lift), np.sin(swing) * np.cos(lift), np.sin(lift)])
    normal = np.array([0.0, 0.0, 1.0])
    cmc = np.array([_THUMB_CMC[0], _THUMB_CMC[1], 0.0])
    points = [cmc]
    point = cmc
    total = 0.0
    for angle, length in zip(np.radians([40.0 * base, 60.0 * tip, 60.0 * tip]), _THUMB_LENGTHS, strict=True):
        total += angle
        bent = np.cos(total) * direction + np.sin(total) * normal
        point = point + length * bent / np.linalg.norm(bent)
        points.append(point)
    nail = np.sin(total) * direction - np.cos(total) * normal
    points.append(nail / np.linalg.norm(nail))
    return points


def hand_local_geometry(hand: HandState) -> tuple[np.ndarray, np.ndarray]:
    """[21, 3] hand joints in the hand frame (u to the fingers, v to the thumb, w palm normal) and [5, 3]
    unit normals of the five nails (the back of each fingertip), which decide what the camera sees."""
    thumb = _thumb_points(hand.base[0], hand.tip[0], hand.opp)
    fingers, finger_nails = _finger_points(np.asarray(hand.base[1:]), np.asarray(hand.tip[1:]), hand.spread)
    points = np.concatenate([np.zeros((1, 3)), np.array(thumb[:-1]), fingers.reshape(16, 3)])
    return points, np.concatenate([thumb[-1][None], finger_nails])


def hand_local_points(hand: HandState) -> np.ndarray:
    """[21, 3] hand joints in the hand frame (u to the fingers, v to the thumb, w palm normal)."""
    return hand_local_geometry(hand)[0]


def toward_camera(hand: HandState, local_vectors: np.ndarray) -> np.ndarray:
    """Depth component (towards the camera, > 0) of directions given in the hand frame."""
    facing = np.radians(hand.facing)
    return -local_vectors[..., 1] * np.sin(facing) + local_vectors[..., 2] * np.cos(facing)


def project_local(hand: HandState, local: np.ndarray, wrist_px: np.ndarray, hand_px: float,
                  mirrored: bool) -> tuple[np.ndarray, np.ndarray]:
    """Image positions [N, 2] and depths [N] of points given in the hand frame (orthographic camera).

    The left hand is the mirror image of the right: its thumb side and its angles are reflected.
    """
    angle = np.radians(180.0 - hand.angle if mirrored else hand.angle)
    facing = np.radians(hand.facing)
    u_axis = np.array([np.cos(angle), np.sin(angle)])
    v_axis = np.array([-np.sin(angle), np.cos(angle)]) * (-1.0 if mirrored else 1.0)
    along_v = local[:, 1] * np.cos(facing) + local[:, 2] * np.sin(facing)
    depth = -local[:, 1] * np.sin(facing) + local[:, 2] * np.cos(facing)
    xy = wrist_px + hand_px * (local[:, :1] * u_axis + along_v[:, None] * v_axis)
    return xy, depth


# Outline of the palm in the hand frame: wrist (thumb side), thumb base, the four knuckles, wrist (pinky side).
PALM_OUTLINE = np.array([[0.0, 0.17, 0.0], [0.16, 0.20, 0.0], [0.47, 0.19, 0.0], [0.51, 0.06, 0.0],
                         [0.49, -0.06, 0.0], [0.44, -0.19, 0.0], [0.0, -0.16, 0.0]])


def project_hand(hand: HandState, wrist_px: np.ndarray, hand_px: float, mirrored: bool) -> tuple:
    """The 21 hand keypoints [21, 2], their depths [21] and the palm outline [7, 2] in the image."""
    xy, depth = project_local(hand, hand_local_points(hand), wrist_px, hand_px, mirrored)
    palm, _ = project_local(hand, PALM_OUTLINE, wrist_px, hand_px, mirrored)
    return xy, depth, palm


@dataclass
class HandView:
    """What the renderer needs beyond a hand's 2-D keypoints: depths and which sides face the camera."""

    local: np.ndarray  # [21, 3] joints in the hand frame (w > 0: on the palm side)
    depth: np.ndarray  # [21] joint depths (towards the camera > 0), hand lengths
    palm: np.ndarray  # [7, 2] palm outline in the image
    palm_toward: float  # cos of the angle between the palm normal and the camera axis (< 0: back of hand)
    nail_toward: np.ndarray  # [5] same for each nail (> 0: the nail is seen)


def palm_offset(hand: HandState, hand_px: float, mirrored: bool) -> np.ndarray:
    """Vector from the palm centre to the wrist, in pixels (the palm centre is 0.25 hand lengths out)."""
    angle = np.radians(180.0 - hand.angle if mirrored else hand.angle)
    return -0.25 * hand_px * np.array([np.cos(angle), np.sin(angle)])


# Hand length (wrist to middle fingertip) in shoulder widths: a little larger than an adult's 0.55 so
# that hands stay big enough for keypoint detectors at 210x260 pixels.
HAND_LENGTH = 0.74


def hand_extent(hand: HandState, mirrored: bool) -> np.ndarray:
    """[N, 2] points covering the drawn hand (joints, bone midpoints, palm outline) in body units.

    Used by the motion model to keep the two hands apart before anything is rendered; it ignores arm
    reach limits, which only matter far from the signing space.
    """
    pos = hand.pos * np.array([-1.0, 1.0]) if mirrored else hand.pos
    wrist = pos + palm_offset(hand, HAND_LENGTH, mirrored)
    xy, _, palm = project_hand(hand, wrist, HAND_LENGTH, mirrored)
    chains = np.array([[1, 2], [2, 3], [3, 4], [5, 6], [6, 7], [7, 8], [9, 10], [10, 11], [11, 12],
                       [13, 14], [14, 15], [15, 16], [17, 18], [18, 19], [19, 20]])
    mid = 0.5 * (xy[chains[:, 0]] + xy[chains[:, 1]])
    return np.concatenate([xy, mid, palm, palm.mean(0, keepdims=True)])


def two_link_ik(shoulder: np.ndarray, target: np.ndarray, upper: float, lower: float, outward: float) -> tuple:
    """Elbow and wrist in the image for an arm that reaches ``target`` in 3-D.

    The wrist is placed in front of the body (towards the camera) so that the arm is bent to about 80%
    of its reach, the way signers keep their hands in the signing space; the elbow then hangs down and
    out (a pole vector), and the orthographic projection foreshortens both segments naturally.
    """
    planar = target - shoulder
    d2 = float(np.linalg.norm(planar))
    comfortable = 0.8 * (upper + lower)
    depth = np.sqrt(max(comfortable**2 - d2**2, 0.0))
    reach = np.array([planar[0], planar[1], depth])
    dist = float(np.linalg.norm(reach))
    dist_c = float(np.clip(dist, abs(upper - lower) + 1e-3, upper + lower - 1e-3))
    unit = reach / max(dist, 1e-6)
    along = (upper**2 - lower**2 + dist_c**2) / (2 * dist_c)
    height = np.sqrt(max(upper**2 - along**2, 0.0))
    pole = np.array([0.6 * outward, 1.0, -0.2])
    perp = pole - pole.dot(unit) * unit
    perp /= max(float(np.linalg.norm(perp)), 1e-6)
    elbow = unit * along + perp * height
    wrist = unit * dist_c
    return shoulder + elbow[:2], shoulder + wrist[:2]


def _face_points(center: np.ndarray, rx: float, ry: float, mouth_open: float, mouth_width: float) -> np.ndarray:
    """The 68 iBUG face points of an elliptical face (point 0 on the person's right, image left)."""
    pts = np.zeros((68, 2))
    phi = np.radians(190.0 - np.arange(17) * 200.0 / 16.0)
    pts[0:17] = np.stack([np.cos(phi) * rx * 0.98, np.sin(phi) * ry * 0.98], 1)
    brow_x = np.linspace(0.75, 0.15, 5)
    brow_y = -0.40 - 0.06 * np.sin(np.linspace(0, np.pi, 5))
    pts[17:22] = np.stack([-brow_x * rx, brow_y * ry], 1)
    pts[22:27] = np.stack([brow_x[::-1] * rx, brow_y[::-1] * ry], 1)
    pts[27:31] = np.stack([np.zeros(4), np.linspace(-0.30, 0.12, 4) * ry], 1)
    pts[31:36] = np.stack([np.linspace(-0.18, 0.18, 5) * rx, np.full(5, 0.20) * ry], 1)
    for side, start in ((-1.0, 36), (1.0, 42)):
        cx, cy, hw, hh = side * 0.38 * rx, -0.20 * ry, 0.17 * rx, 0.06 * ry
        # both eyes start at their image-left corner: outer for the right eye, inner for the left
        ring = [(-hw, 0), (-hw / 3, -hh), (hw / 3, -hh), (hw, 0), (hw / 3, hh), (-hw / 3, hh)]
        pts[start:start + 6] = [(cx + a, cy + b) for a, b in ring]
    mw = 0.30 * rx * mouth_width
    mo = 0.20 * ry * mouth_open
    my = 0.52 * ry
    outer_top = [(-mw, 0), (-0.6 * mw, -0.10 * ry - 0.3 * mo), (-0.25 * mw, -0.12 * ry - 0.4 * mo),
                 (0, -0.10 * ry - 0.4 * mo), (0.25 * mw, -0.12 * ry - 0.4 * mo), (0.6 * mw, -0.10 * ry - 0.3 * mo),
                 (mw, 0)]
    outer_bottom = [(0.6 * mw, 0.10 * ry + 0.7 * mo), (0.25 * mw, 0.12 * ry + mo), (0, 0.12 * ry + mo),
                    (-0.25 * mw, 0.12 * ry + mo), (-0.6 * mw, 0.10 * ry + 0.7 * mo)]
    inner = [(-0.8 * mw, 0), (-0.3 * mw, -0.3 * mo), (0, -0.35 * mo), (0.3 * mw, -0.3 * mo), (0.8 * mw, 0),
             (0.3 * mw, 0.65 * mo), (0, 0.7 * mo), (-0.3 * mw, 0.65 * mo)]
    pts[48:68] = [(x, y + my) for x, y in outer_top + outer_bottom + inner]
    return center + pts


@dataclass
class Skeleton:
    """Keypoints of one frame plus what the renderer needs beyond them."""

    keypoints: np.ndarray  # [133, 3] x, y, score
    hands: dict[str, HandView]  # "right" / "left"
    head_center: np.ndarray
    head_radii: tuple
    shoulders: np.ndarray  # [2, 2] right, left
    hips: np.ndarray
    neck: np.ndarray


def pose_keypoints(shape: BodyShape, state: PoseState, width: int, height: int) -> Skeleton:
    """Place the signer in the frame and compute all 133 keypoints (scores 1 in frame, 0 outside)."""
    s = shape.shoulder_px
    neck = np.array([shape.neck_x, shape.neck_y]) + state.sway * s
    shoulders = np.array([neck + [-0.5 * s, 0.05 * s], neck + [0.5 * s, 0.05 * s]])
    hips = np.array([neck + [-0.36 * s, shape.torso_length * s], neck + [0.36 * s, shape.torso_length * s]])
    head_center = neck + (np.array([0.0, -0.72 * shape.head_scale]) + state.head) * s
    rx, ry = 0.29 * s * shape.head_scale, 0.37 * s * shape.head_scale
    kp = np.zeros((NUM_KEYPOINTS, 3), np.float32)
    face = _face_points(head_center, rx, ry, state.mouth_open, state.mouth_width)
    kp[FACE, :2] = face
    kp[0, :2] = face[30]
    kp[1, :2] = face[42:48].mean(0)  # person's left eye
    kp[2, :2] = face[36:42].mean(0)
    kp[3, :2] = head_center + [1.02 * rx, -0.12 * ry]
    kp[4, :2] = head_center + [-1.02 * rx, -0.12 * ry]
    kp[6, :2], kp[5, :2] = shoulders
    kp[12, :2], kp[11, :2] = hips
    kp[14, :2] = hips[0] + [0.0, 1.3 * s]
    kp[13, :2] = hips[1] + [0.0, 1.3 * s]
    kp[16, :2] = hips[0] + [0.0, 2.6 * s]
    kp[15, :2] = hips[1] + [0.0, 2.6 * s]
    kp[17:23, :2] = np.repeat(kp[15:17, :2], 3, axis=0) + [[0, 0.1 * s]]
    upper, lower = 0.72 * s * shape.arm_scale, 0.64 * s * shape.arm_scale
    hand_px = HAND_LENGTH * s * shape.hand_scale
    views = {}
    for side, hand, shoulder, elbow_idx, wrist_idx, hand_idx, mirrored in (
        ("right", state.right, shoulders[0], 8, 10, RIGHT_HAND, False),
        ("left", state.left, shoulders[1], 7, 9, LEFT_HAND, True),
    ):
        pos = hand.pos * np.array([-1.0, 1.0]) if mirrored else hand.pos
        palm_px = neck + pos * s
        target_wrist = palm_px + palm_offset(hand, hand_px, mirrored)
        elbow, wrist = two_link_ik(shoulder, target_wrist, upper, lower, outward=1.0 if mirrored else -1.0)
        local, nails = hand_local_geometry(hand)
        xy, depth = project_local(hand, local, wrist, hand_px, mirrored)
        palm, _ = project_local(hand, PALM_OUTLINE, wrist, hand_px, mirrored)
        kp[elbow_idx, :2], kp[wrist_idx, :2] = elbow, wrist
        kp[hand_idx, :2] = xy
        views[side] = HandView(local, depth, palm, float(toward_camera(hand, np.array([0.0, 0.0, 1.0]))),
                               toward_camera(hand, nails))
    inside = (kp[:, 0] >= 0) & (kp[:, 0] < width) & (kp[:, 1] >= 0) & (kp[:, 1] < height)
    kp[:, 2] = inside.astype(np.float32)
    return Skeleton(kp, views, head_center, (rx, ry), shoulders, hips, neck)
