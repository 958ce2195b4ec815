"""MediaPipe Holistic keypoint extraction into the COCO-WholeBody-133 layout of :mod:`signdistill.pose.layout`.

The project's keypoint stream must be interchangeable with the HRNet keypoints that TwoStream-SLR
releases for PHOENIX and CSL-Daily, so MediaPipe's own landmark sets (pose 33, hands 21 + 21, face mesh
468) are mapped into that layout here, once, and everything downstream sees only COCO-WholeBody.
Points MediaPipe does not find get score 0 and coordinates 0, as the design's data contract says.

MediaPipe's "left" and "right" are the person's own sides, the same convention as COCO-WholeBody (the
test suite checks this against SynthSign ground truth, where the sides are known by construction).
Holistic runs in video mode (tracking between frames) with model complexity 1: complexity 2 downloads
a model at run time, and the project must work offline.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType

import numpy as np

from signdistill.pose.layout import BODY, FACE, LEFT_HAND, NUM_KEYPOINTS, RIGHT_HAND

# COCO body 0-16 <- MediaPipe pose: nose, eyes (MP 2 = left eye centre, 5 = right), ears, shoulders,
# elbows, wrists, hips, knees, ankles.
POSE_TO_COCO_BODY = np.array([0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28])
# COCO feet 17-22 (left big toe, left small toe, left heel, right big toe, right small toe, right heel)
# <- MediaPipe foot index (the tip of the foot, closest to the big toe) and heels; MediaPipe has no
# small toe, which stays at score 0.
POSE_TO_COCO_FEET = {17: 31, 19: 29, 20: 32, 22: 30}

# iBUG-68 (COCO face 23-90) <- MediaPipe face mesh 468. iBUG point 0 and the first brow/eye points are
# on the person's right (the image's left); MediaPipe mesh vertex 33 is the right eye's outer corner and
# 61 the right mouth corner, so the table runs in the same direction. Bilaterally symmetric by
# construction (127<->356, 234<->454, ..., 70<->300, 33<->263, 61<->291).
MESH_TO_IBUG68 = np.array([
    # jaw contour 0-16, person's right ear to left ear through the chin (152)
    127, 234, 93, 132, 58, 172, 136, 150, 152, 379, 365, 397, 288, 361, 323, 454, 356,
    # brows 17-21 (right, outer to inner) and 22-26 (left, inner to outer)
    70, 63, 105, 66, 107, 336, 296, 334, 293, 300,
    # nose bridge 27-30 and lower nose 31-35
    168, 197, 5, 4, 75, 97, 2, 326, 305,
    # right eye 36-41 and left eye 42-47 (each from its image-left corner, clockwise)
    33, 160, 158, 133, 153, 144, 362, 385, 387, 263, 373, 380,
    # outer lips 48-59 and inner lips 60-67
    61, 39, 37, 0, 267, 269, 291, 405, 314, 17, 84, 181, 78, 82, 13, 312, 308, 317, 14, 87,
])
assert len(MESH_TO_IBUG68) == 68
# The jaw contour above skips 176/400 (between 150 and 152) to keep 17 symmetric points; the table is
# the widely used MediaPipe -> dlib correspondence.

PARTS = ("body", "left_hand", "right_hand", "face")


_LIBC = ctypes.CDLL(None)


@contextlib.contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null for a while.

    MediaPipe's TFLite graphs print several absl warnings ("Feedback manager requires a model with a
    single signature...") every time a graph starts, before absl logging can be configured from
    Python, which buries a pipeline's own log. Python exceptions still propagate normally.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        _LIBC.fflush(None)  # C stdio buffers what absl wrote: flush it into /dev/null, not the terminal
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


@dataclass
class HolisticResult:
    """Keypoints [T, 133, 3] (x, y in source pixels, score) and per-frame detection flags [T] per part."""

    keypoints: np.ndarray
    body: np.ndarray
    left_hand: np.ndarray
    right_hand: np.ndarray
    face: np.ndarray

    def flags(self, part: str) -> np.ndarray:
        return getattr(self, part)


def _landmarks_xy(landmarks, width: int, height: int) -> np.ndarray:
    return np.array([(p.x * width, p.y * height) for p in landmarks.landmark], np.float32)


def landmarks_to_coco(pose, left_hand, right_hand, face, width: int, height: int) -> np.ndarray:
    """One frame's MediaPipe landmark lists (or None) -> [133, 3] COCO-WholeBody keypoints."""
    kp = np.zeros((NUM_KEYPOINTS, 3), np.float32)
    if pose is not None:
        xy = _landmarks_xy(pose, width, height)
        vis = np.array([p.visibility for p in pose.landmark], np.float32)
        kp[BODY, :2] = xy[POSE_TO_COCO_BODY]
        kp[BODY, 2] = vis[POSE_TO_COCO_BODY]
        for coco, mp_index in POSE_TO_COCO_FEET.items():
            kp[coco, :2] = xy[mp_index]
            kp[coco, 2] = vis[mp_index]
    for landmarks, index in ((left_hand, LEFT_HAND), (right_hand, RIGHT_HAND)):
        if landmarks is not None:
            kp[index, :2] = _landmarks_xy(landmarks, width, height)
            kp[index, 2] = 1.0
    if face is not None:
        kp[FACE, :2] = _landmarks_xy(face, width, height)[MESH_TO_IBUG68]
        kp[FACE, 2] = 1.0
    return kp


class HolisticExtractor:
    """MediaPipe Holistic in video mode; one instance per video stream (tracking carries state).

    Use as a context manager so that the graph's threads and memory are released deterministically,
    which matters when one worker process extracts thousands of videos.
    """

    def __init__(self, model_complexity: int = 1, min_detection_confidence: float = 0.5,
                 min_tracking_confidence: float = 0.5, smooth_landmarks: bool = True) -> None:
        if model_complexity != 1:
            raise ValueError(f"model_complexity {model_complexity}: mediapipe 0.10.21 ships only the complexity-1 "
                             "pose model offline (0 and 2 would be downloaded at run time)")
        self.options = dict(static_image_mode=False, model_complexity=model_complexity,
                            smooth_landmarks=smooth_landmarks, enable_segmentation=False,
                            refine_face_landmarks=False, min_detection_confidence=min_detection_confidence,
                            min_tracking_confidence=min_tracking_confidence)
        self._holistic = None

    def __enter__(self) -> HolisticExtractor:
        import mediapipe as mp  # heavy import, only where extraction actually runs

        with _native_stderr_silenced():
            self._holistic = mp.solutions.holistic.Holistic(**self.options)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        if self._holistic is not None:
            self._holistic.close()
            self._holistic = None

    def reset(self) -> None:
        """Forget the tracking state, so that the next frames are treated as a new video (the graph is
        restarted, not rebuilt: rebuilding costs about half a second per video)."""
        if self._holistic is None:
            self.__enter__()
        else:
            with _native_stderr_silenced():
                self._holistic.reset()

    def extract(self, frames: np.ndarray, stride: int = 1) -> HolisticResult:
        """Keypoints of one video, frames [T, H, W, 3] RGB uint8 in temporal order.

        The tracker is reset first, so calling ``extract`` on consecutive videos never leaks the previous
        video's hand or face positions into the first frames of the next. ``stride`` > 1 runs MediaPipe on
        every ``stride``-th frame (and the last) and interpolates the others (:func:`interpolate_keypoints`):
        MediaPipe is the most expensive feature per frame, and signing at 25 fps moves little in 2 frames.
        """
        self.reset()
        frames = np.asarray(frames)
        if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
            raise ValueError(f"expected frames [T, H, W, 3] uint8 RGB, got {frames.shape} {frames.dtype}")
        t, height, width = frames.shape[:3]
        positions = np.unique(np.append(np.arange(0, t, max(1, stride)), t - 1))
        keypoints = np.zeros((len(positions), NUM_KEYPOINTS, 3), np.float32)
        found = {part: np.zeros(len(positions), bool) for part in PARTS}
        with _native_stderr_silenced():  # subgraphs start (and warn) whenever a hand or face first appears
            for i, frame in enumerate(frames[positions]):
                res = self._holistic.process(np.ascontiguousarray(frame))
                keypoints[i] = landmarks_to_coco(res.pose_landmarks, res.left_hand_landmarks,
                                                 res.right_hand_landmarks, res.face_landmarks, width, height)
                found["body"][i] = res.pose_landmarks is not None
                found["left_hand"][i] = res.left_hand_landmarks is not None
                found["right_hand"][i] = res.right_hand_landmarks is not None
                found["face"][i] = res.face_landmarks is not None
        if len(positions) == t:
            return HolisticResult(keypoints, **found)
        left, right, weight = _neighbours(positions, t)
        flags = {part: f[left] & f[right] | (weight == 0) & f[left] for part, f in found.items()}
        return HolisticResult(interpolate_keypoints(keypoints, positions, t), **flags)


def _neighbours(positions: np.ndarray, total: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For every frame 0..total-1: the sampled neighbours' indices into ``positions`` and the weight of the right."""
    frames = np.arange(total)
    right = np.clip(np.searchsorted(positions, frames), 0, len(positions) - 1)
    left = np.where(positions[right] == frames, right, np.maximum(right - 1, 0))
    span = positions[right] - positions[left]
    weight = np.where(span > 0, (frames - positions[left]) / np.maximum(span, 1), 0.0).astype(np.float32)
    return left, right, weight


def interpolate_keypoints(sampled: np.ndarray, positions: np.ndarray, total: int) -> np.ndarray:
    """[S, K, 3] keypoints found at frames ``positions`` (sorted) -> [total, K, 3] by linear interpolation.

    A point between two samples is interpolated only where both samples found it; otherwise it is
    "not found" (score 0, x = y = 0), as the data contract says, rather than guessed. The score is the
    smaller of the two.
    """
    left, right, weight = _neighbours(np.asarray(positions), total)
    a, b = sampled[left], sampled[right]
    w = weight[:, None, None]
    out = (1 - w) * a + w * b
    both = (a[..., 2] > 0) & (b[..., 2] > 0)
    exact = (weight == 0)[:, None] & (a[..., 2] > 0)
    out[..., 2] = np.where(exact, a[..., 2], np.minimum(a[..., 2], b[..., 2]))
    out[~(both | exact)] = 0
    return out.astype(np.float32)


# Parts scored by detection_rates: keypoint indices and how to tell whether the part is visible in the GT.
PART_POINTS = {
    "body": np.arange(0, 11),
    "left_hand": LEFT_HAND,
    "right_hand": RIGHT_HAND,
    "face": FACE,
}


def gt_visible(gt_keypoints: np.ndarray, part: str) -> np.ndarray:
    """[T] whether a part is in the frame in the ground truth: at least half of its points have score > 0."""
    scores = gt_keypoints[:, PART_POINTS[part], 2]
    return (scores > 0).mean(1) >= 0.5


def pck(pred: np.ndarray, gt: np.ndarray, points: np.ndarray, frames: np.ndarray, threshold: float = 0.1) -> float:
    """PCK: fraction of GT-visible ``points`` of the selected ``frames`` within ``threshold`` x shoulder width.

    ``pred`` and ``gt`` are full [T, 133, 3] arrays. GT shoulder width (COCO 5-6) is the usual scale for
    upper-body sign-language keypoints: it does not change with hand shape or mouth opening.
    """
    if not frames.any():
        return float("nan")
    g_all = gt[frames]
    p, g = pred[frames][:, points], g_all[:, points]
    scale = np.linalg.norm(g_all[:, 5, :2] - g_all[:, 6, :2], axis=1)[:, None]
    dist = np.linalg.norm(p[..., :2] - g[..., :2], axis=-1)
    valid = g[..., 2] > 0
    if not valid.any():
        return float("nan")
    return float(((dist <= threshold * scale) & valid).sum() / valid.sum())


def detection_rates(result: HolisticResult, gt_keypoints: np.ndarray | None = None) -> dict:
    """Per part: fraction of frames detected; with ground truth also among GT-visible frames and PCK@0.1.

    Returned keys: ``<part>`` (all frames), and with ground truth ``<part>_visible`` (detected among
    frames where the part is visible), ``<part>_frames_visible`` (how many) and ``<part>_pck`` (PCK@0.1
    of GT shoulder width over frames both visible and detected). The hand rates among visible frames are
    the project's acceptance numbers for MediaPipe on SynthSign.
    """
    out: dict[str, float] = {"frames": int(len(result.keypoints))}
    for part in PARTS:
        flags = result.flags(part)
        out[part] = float(flags.mean()) if len(flags) else float("nan")
        if gt_keypoints is None:
            continue
        visible = gt_visible(gt_keypoints, part)
        out[f"{part}_frames_visible"] = int(visible.sum())
        out[f"{part}_visible"] = float(flags[visible].mean()) if visible.any() else float("nan")
        out[f"{part}_pck"] = pck(result.keypoints, gt_keypoints, PART_POINTS[part], visible & flags)
    return out
