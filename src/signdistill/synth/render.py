"""OpenCV renderer of the SynthSign signer, drawn from its keypoints (RGB images, uint8)."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from signdistill.pose.layout import FACE, LEFT_HAND, RIGHT_HAND
from signdistill.synth.body import Skeleton

_AA = cv2.LINE_AA
_FINGERS = [(0, 1, 2, 3, 4), (0, 5, 6, 7, 8), (0, 9, 10, 11, 12), (0, 13, 14, 15, 16), (0, 17, 18, 19, 20)]


@dataclass(frozen=True)
class Appearance:
    """How one signer looks: colours (RGB), hair, and the camera's noise and blur."""

    skin: tuple[int, int, int]
    clothes: tuple[int, int, int]
    hair: tuple[int, int, int]
    lips: tuple[int, int, int]
    hair_long: bool
    background: tuple[int, int, int]
    texture_seed: int
    noise_sigma: float
    blur: float  # weight of the previous frame, a cheap motion blur of whatever moved
    focus_sigma: float = 1.0  # Gaussian blur of the lens, pixels


def _shade(color: tuple, factor: float) -> tuple:
    return tuple(min(255, max(0, int(c * factor))) for c in color)


def background_texture(look: Appearance, width: int, height: int) -> np.ndarray:
    """A static studio backdrop: base colour, vertical light gradient and soft blotchy texture."""
    rng = np.random.default_rng(look.texture_seed)
    base = np.array(look.background, np.float32)
    ramp = np.linspace(1.08, 0.88, height, dtype=np.float32)[:, None, None]
    blotch = cv2.GaussianBlur(rng.normal(0, 1, (height, width)).astype(np.float32), (0, 0), 9)
    blotch = blotch / (blotch.std() + 1e-6)
    grain = cv2.GaussianBlur(rng.normal(0, 1, (height, width)).astype(np.float32), (0, 0), 1.2)
    img = base * ramp + (7.0 * blotch + 3.0 * grain)[:, :, None]
    return np.clip(img, 0, 255).astype(np.uint8)


def _pt(p: np.ndarray) -> tuple[int, int]:
    return int(round(float(p[0]) * 16)), int(round(float(p[1]) * 16))


def _line(img, a, b, color, thickness: float) -> None:
    cv2.line(img, _pt(a), _pt(b), color, max(1, int(round(thickness))), _AA, 4)


def _poly(img, pts, color) -> None:
    cv2.fillPoly(img, [np.round(np.asarray(pts) * 16).astype(np.int32)], color, _AA, 4)


def _ellipse(img, center, axes, color, angle: float = 0.0, thickness: int = -1) -> None:
    cv2.ellipse(img, _pt(center), (int(axes[0] * 16), int(axes[1] * 16)), angle, 0, 360, color, thickness, _AA, 4)


def _draw_torso(img, sk: Skeleton, look: Appearance, s: float) -> None:
    (rs, ls), (rh, lh) = sk.shoulders, sk.hips
    out = 0.10 * s
    torso = [rs + [-out, 0.06 * s], rs + [0, -0.1 * s], ls + [0, -0.1 * s], ls + [out, 0.06 * s],
             lh + [0.08 * s, 0], lh + [0.1 * s, 2 * s], rh + [-0.1 * s, 2 * s], rh + [-0.08 * s, 0]]
    _poly(img, torso, look.clothes)
    for shoulder in (rs, ls):
        _ellipse(img, shoulder + [0, 0.02 * s], (0.15 * s, 0.12 * s), look.clothes)
    neck_w = 0.13 * s
    _poly(img, [sk.neck + [-neck_w, 0.05 * s], sk.neck + [-neck_w * 0.9, -0.45 * s],
                sk.neck + [neck_w * 0.9, -0.45 * s], sk.neck + [neck_w, 0.05 * s]], _shade(look.skin, 0.85))
    _poly(img, [sk.neck + [-0.17 * s, -0.02 * s], sk.neck + [0.17 * s, -0.02 * s], sk.neck + [0, 0.22 * s]],
          _shade(look.skin, 0.9))
    _line(img, sk.neck + [-0.17 * s, -0.02 * s], sk.neck + [0, 0.22 * s], _shade(look.clothes, 1.4), 0.04 * s)
    _line(img, sk.neck + [0.17 * s, -0.02 * s], sk.neck + [0, 0.22 * s], _shade(look.clothes, 1.4), 0.04 * s)


def _draw_head(img, sk: Skeleton, look: Appearance, s: float) -> None:
    c = sk.head_center
    rx, ry = sk.head_radii
    kp = sk.keypoints
    if look.hair_long:
        _poly(img, [c + [-1.15 * rx, -0.3 * ry], c + [1.15 * rx, -0.3 * ry], c + [1.3 * rx, 1.35 * ry],
                    c + [-1.3 * rx, 1.35 * ry]], look.hair)
    _ellipse(img, c + [0, -0.08 * ry], (1.08 * rx, 1.05 * ry), look.hair)
    for ear in (kp[3, :2], kp[4, :2]):
        _ellipse(img, ear + [0, 0.1 * ry], (0.14 * rx, 0.24 * ry), _shade(look.skin, 0.9))
    _ellipse(img, c, (rx, ry), look.skin)
    fringe_angles = np.radians(np.linspace(195, 345, 16))
    fringe = [c + [1.04 * rx * np.cos(a), 1.02 * ry * np.sin(a)] for a in fringe_angles]
    fringe += [c + [0.7 * rx, -0.62 * ry], c + [0.2 * rx, -0.52 * ry], c + [-0.35 * rx, -0.6 * ry],
               c + [-0.85 * rx, -0.5 * ry]]
    _poly(img, fringe, look.hair)
    face = kp[FACE, :2]
    for start in (36, 42):
        eye = face[start:start + 6]
        center = eye.mean(0)
        _ellipse(img, center, (0.19 * rx, 0.09 * ry), (240, 240, 235))
        _ellipse(img, center, (0.075 * rx, 0.075 * rx), (50, 35, 25))
        _line(img, eye[0], eye[3], _shade(look.skin, 0.5), 0.02 * s)
    brow = _shade(look.hair, 0.8)
    for a, b in ((17, 22), (22, 27)):
        for i in range(a, b - 1):
            _line(img, face[i], face[i + 1], brow, 0.045 * s)
    _line(img, face[27], face[30], _shade(look.skin, 0.75), 0.03 * s)
    _poly(img, [face[31], face[30], face[35], face[33]], _shade(look.skin, 0.75))
    _poly(img, face[48:60], look.lips)
    _poly(img, face[60:68], (70, 20, 25))


def _draw_arm(img, sk: Skeleton, look: Appearance, s: float, side: str) -> None:
    """Sleeves a shade lighter than the torso with a dark rim, so that an arm in front of the body stays
    visible: pose models place the wrist, and hence the hand crop, from the whole arm."""
    kp = sk.keypoints
    shoulder, elbow, wrist = (kp[6], kp[8], kp[10]) if side == "right" else (kp[5], kp[7], kp[9])
    clothes = np.array(look.clothes, np.float32)
    sleeve = tuple(int(v) for v in np.clip(clothes * 1.15 + 28, 0, 255))
    rim = _shade(look.clothes, 0.5)
    _line(img, shoulder[:2], elbow[:2], rim, 0.22 * s + 3)
    _line(img, elbow[:2], wrist[:2], rim, 0.18 * s + 3)
    _line(img, shoulder[:2], elbow[:2], sleeve, 0.22 * s)
    _line(img, elbow[:2], wrist[:2], sleeve, 0.18 * s)
    _line(img, wrist[:2] + 0.1 * (elbow[:2] - wrist[:2]), wrist[:2], _shade(look.skin, 0.9), 0.12 * s)


def _draw_finger(img, pts, chain, look: Appearance, width: float, nail: bool) -> None:
    """A finger as tapering segments with a darker rim (so that neighbouring fingers stay apart), a
    highlight along it, and a nail or a pad at the tip: cues that hand detectors rely on (measured with
    MediaPipe Holistic: without rims or highlights fewer hands are found)."""
    rim, skin, light = _shade(look.skin, 0.55), look.skin, _shade(look.skin, 1.2)
    segments = list(zip(chain[1:-1], chain[2:], strict=True))
    for k, (a, b) in enumerate(segments):
        _line(img, pts[a], pts[b], rim, width * (1.0 - 0.1 * k) + 2)
    for k, (a, b) in enumerate(segments):
        _line(img, pts[a], pts[b], skin, width * (1.0 - 0.1 * k))
    for k, (a, b) in enumerate(segments):
        _line(img, pts[a], pts[b], light, max(1.0, 0.35 * width * (1.0 - 0.1 * k)))
    tip, dip = pts[chain[-1]], pts[chain[-2]]
    length = float(np.linalg.norm(tip - dip))
    angle = float(np.degrees(np.arctan2(*(tip - dip)[::-1])))
    color = (235, 205, 200) if nail else _shade(skin, 1.05)
    _ellipse(img, dip + 0.6 * (tip - dip), (max(0.3 * length, 1.0), max(0.28 * width, 1.0)), color, angle)


def _draw_hand(img, sk: Skeleton, look: Appearance, s: float, side: str) -> None:
    """Fingers behind the palm, the palm (with knuckles when its back is seen), then the fingers in front
    of it, each group from back to front."""
    idx = RIGHT_HAND if side == "right" else LEFT_HAND
    pts = sk.keypoints[idx, :2]
    view = sk.hands[side]
    width = 0.072 * s
    finger_depth = [float(view.depth[list(chain[2:])].mean()) for chain in _FINGERS]
    order = sorted(range(5), key=finger_depth.__getitem__)
    nails = view.nail_toward > 0.2

    def fingers(front: bool) -> None:
        for f in order:
            if (finger_depth[f] >= 0) == front:
                _draw_finger(img, pts, _FINGERS[f], look, width * (1.2 if f == 0 else 1.0), bool(nails[f]))

    fingers(False)
    palm = view.palm
    cv2.polylines(img, [np.round(palm * 16).astype(np.int32)], True, _shade(look.skin, 0.55), 2, _AA, 4)
    _poly(img, palm, _shade(look.skin, 0.97))
    center = palm.mean(0)
    _ellipse(img, center + 0.15 * (pts[0] - center), (0.25 * width, 0.25 * width), _shade(look.skin, 1.1))
    crease = _shade(look.skin, 0.78)
    _line(img, palm[1] + 0.3 * (palm[2] - palm[1]), palm[5] + 0.3 * (palm[4] - palm[5]), crease, 1)
    _line(img, palm[1] + 0.6 * (palm[0] - palm[1]), center + 0.3 * (palm[3] - center), crease, 1)
    if view.palm_toward < 0:  # the back of the hand: knuckles
        for joint in (5, 9, 13, 17):
            _ellipse(img, pts[joint], (0.42 * width, 0.42 * width), _shade(look.skin, 1.06))
    fingers(True)


def render_frame(sk: Skeleton, look: Appearance, background: np.ndarray, shoulder_px: float) -> np.ndarray:
    """Draw one frame (without camera noise, see ``camera_effects``)."""
    img = background.copy()
    s = shoulder_px
    _draw_torso(img, sk, look, s)
    _draw_head(img, sk, look, s)
    # The hand nearer the camera is drawn last; the dominant right hand is in front by default.
    for side in ("left", "right"):
        _draw_arm(img, sk, look, s, side)
        _draw_hand(img, sk, look, s, side)
    return img


def camera_effects(frame: np.ndarray, previous: np.ndarray | None, look: Appearance,
                   rng: np.random.Generator) -> np.ndarray:
    """Lens softness, mild motion blur (blend with the previous frame) and sensor noise.

    Real 210x260 sign-language video is soft; razor-sharp vector edges make the signer look like a
    drawing, and MediaPipe Holistic finds markedly fewer hands in such frames (about 0.6 vs 0.8 of
    single frames without tracking at sigma 0 vs 1).
    """
    out = frame
    if previous is not None and look.blur > 0:
        out = cv2.addWeighted(frame, 1.0 - look.blur, previous, look.blur, 0.0)
    if look.focus_sigma > 0:
        out = cv2.GaussianBlur(out, (0, 0), look.focus_sigma)
    noisy = out.astype(np.float32) + rng.standard_normal(out.shape, dtype=np.float32) * np.float32(look.noise_sigma)
    return np.clip(noisy, 0, 255).astype(np.uint8)
