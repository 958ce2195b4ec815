"""The COCO-WholeBody-133 keypoint layout shared by SynthSign, MediaPipe and released HRNet keypoints.

Index ranges follow COCO-WholeBody: body 0-16 (COCO order), feet 17-22, face 23-90 (the 68-point
iBUG face: contour, brows, nose, eyes, outer and inner lips), left hand 91-111, right hand 112-132
(hands: wrist, then thumb, index, middle, ring, pinky with four points each). "Left" and "right" are
the person's own sides, so the person's right hand appears on the image's left.
"""

from __future__ import annotations

import numpy as np

NUM_KEYPOINTS = 133
BODY = np.arange(0, 17)
FEET = np.arange(17, 23)
FACE = np.arange(23, 91)
LEFT_HAND = np.arange(91, 112)
RIGHT_HAND = np.arange(112, 133)
MOUTH = np.arange(71, 91)

# COCO body names, in index order.
BODY_NAMES = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
)
BODY_INDEX = {name: i for i, name in enumerate(BODY_NAMES)}

# SignKD's 79-point subset: body 0-10, mouth 71-90 every 2nd, both hands, face contour 23-70 every 3rd.
SIGNKD_79 = np.concatenate([
    np.arange(0, 11), np.arange(71, 91, 2), np.arange(91, 133), np.arange(23, 71, 3),
])
assert len(SIGNKD_79) == 79


def _face68_flip() -> np.ndarray:
    """Mirror map of the 68-point iBUG face (left-right swap under a horizontal flip)."""
    flip = np.arange(68)
    pairs = [(i, 16 - i) for i in range(8)]                       # jaw contour
    pairs += [(17 + i, 26 - i) for i in range(5)]                 # brows
    pairs += [(31, 35), (32, 34)]                                 # nostrils
    pairs += [(36, 45), (37, 44), (38, 43), (39, 42), (40, 47), (41, 46)]  # eyes
    pairs += [(48, 54), (49, 53), (50, 52), (55, 59), (56, 58)]   # outer lips
    pairs += [(60, 64), (61, 63), (65, 67)]                       # inner lips
    for a, b in pairs:
        flip[a], flip[b] = b, a
    return flip


def horizontal_flip_permutation() -> np.ndarray:
    """Index permutation that relabels keypoints after mirroring an image left-right."""
    perm = np.arange(NUM_KEYPOINTS)
    body_pairs = [(1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16)]
    feet_pairs = [(17, 20), (18, 21), (19, 22)]
    for a, b in body_pairs + feet_pairs:
        perm[a], perm[b] = b, a
    perm[FACE] = FACE[0] + _face68_flip()
    perm[LEFT_HAND] = RIGHT_HAND
    perm[RIGHT_HAND] = LEFT_HAND
    return perm


HFLIP = horizontal_flip_permutation()
