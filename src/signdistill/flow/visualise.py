"""Optical flow as colour: hue is the direction, saturation the speed (the usual colour-wheel coding)."""

from __future__ import annotations

import cv2
import numpy as np


def flow_to_rgb(flow: np.ndarray, max_magnitude: float | None = None) -> np.ndarray:
    """``[H, W, 2]`` flow (dx, dy) -> ``uint8 [H, W, 3]`` RGB; white is still, full colour is ``max_magnitude``.

    ``max_magnitude`` defaults to the largest motion in the field; pass one value for a strip of frames
    so that their colours compare.
    """
    dx, dy = flow[..., 0].astype(np.float32), flow[..., 1].astype(np.float32)
    magnitude, angle = cv2.cartToPolar(dx, dy, angleInDegrees=True)
    scale = max_magnitude or float(magnitude.max()) or 1.0
    hsv = np.empty((*flow.shape[:2], 3), np.uint8)
    hsv[..., 0] = (angle / 2).astype(np.uint8)  # OpenCV's 8-bit hue runs 0..179
    hsv[..., 1] = np.clip(magnitude / scale * 255, 0, 255).astype(np.uint8)
    hsv[..., 2] = 255
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)


def colour_wheel(size: int = 64) -> np.ndarray:
    """The legend: the colour of every flow vector up to the wheel's radius (right = +x, down = +y)."""
    ys, xs = np.mgrid[:size, :size].astype(np.float32)
    centre = (size - 1) / 2
    flow = np.stack([xs - centre, ys - centre], -1)
    wheel = flow_to_rgb(flow, centre)
    wheel[np.hypot(*np.moveaxis(flow, -1, 0)) > centre] = 255
    return wheel
