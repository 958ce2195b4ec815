"""Gaussian keypoint heatmaps rendered batched on the training device.

Each heatmap is the outer product of a 1-D Gaussian along y and one along x (a Gaussian is separable),
so a batch of [N, K] keypoints costs two small [N, K, H] and [N, K, W] tensors and one broadcast
multiply, never a loop over points. The peak equals the keypoint's score, so undetected points
(score 0) give empty maps. Crop and flip are applied to the keypoints with the same parameters as the
RGB clip, before rendering, so heatmaps and frames stay aligned.
"""

from __future__ import annotations

import torch

from signdistill.pose.layout import HFLIP, LEFT_HAND, MOUTH, RIGHT_HAND, SIGNKD_79


def render_heatmaps(keypoints: torch.Tensor, size: tuple[int, int], sigma: float = 4.0) -> torch.Tensor:
    """[..., K, 3] keypoints (x, y in output pixels, score) -> [..., K, H, W] heatmaps, peak = score."""
    height, width = size
    ys = torch.arange(height, device=keypoints.device, dtype=keypoints.dtype)
    xs = torch.arange(width, device=keypoints.device, dtype=keypoints.dtype)
    gy = torch.exp(-((ys - keypoints[..., 1:2]) ** 2) / (2 * sigma**2))  # [..., K, H]
    gx = torch.exp(-((xs - keypoints[..., 0:1]) ** 2) / (2 * sigma**2))  # [..., K, W]
    return (gy.unsqueeze(-1) * gx.unsqueeze(-2)) * keypoints[..., 2, None, None]


def transform_keypoints(keypoints: torch.Tensor, source_size: tuple[int, int], resize: int, crop_top: int,
                        crop_left: int, crop: int, out_size: int, flip: bool) -> torch.Tensor:
    """Map [T, 133, 3] source-pixel keypoints through the RGB pipeline: square resize to ``resize``,
    crop ``crop`` at (top, left), scale to ``out_size``, optional horizontal flip (which also swaps the
    left/right keypoint labels, as the mirrored person's right hand becomes their left)."""
    src_h, src_w = source_size
    out = keypoints.clone()
    scale = out_size / crop
    out[..., 0] = (keypoints[..., 0] * resize / src_w - crop_left) * scale
    out[..., 1] = (keypoints[..., 1] * resize / src_h - crop_top) * scale
    if flip:
        out[..., 0] = out_size - 1 - out[..., 0]
        out = out[..., torch.as_tensor(HFLIP, device=out.device), :]
    return out


def signkd_heatmaps(keypoints: torch.Tensor, out_size: int, sigma: float = 4.0,
                    part_zoom: float | None = None) -> torch.Tensor:
    """SignKD's 79-channel input: [T, 133, 3] (already transformed) -> [T, 79, out, out].

    ``part_zoom`` (not in the paper): each hand's and the mouth's points are drawn around their own centre,
    magnified ``part_zoom`` times (``part_centred``); body and face contour stay where they are in the frame.
    """
    if part_zoom:
        keypoints = part_centred(keypoints, out_size, part_zoom)
    subset = keypoints[..., torch.as_tensor(SIGNKD_79, device=keypoints.device), :]
    return render_heatmaps(subset, (out_size, out_size), sigma)


# Parts that carry a sign's fine shape (hand shape, mouth pattern) and are few pixels wide in a small frame.
PARTS = (LEFT_HAND, RIGHT_HAND, MOUTH)


def part_centred(keypoints: torch.Tensor, size: int, zoom: float) -> torch.Tensor:
    """[..., 133, 3] keypoints in a ``size`` frame -> the same with each part of ``PARTS`` moved to the frame's
    centre and magnified ``zoom`` times about its own score-weighted centroid.

    Why: at the embedded 28 px a hand is ~5 px wide, so its 21 points blur into one blob and the keypoint
    stream cannot tell the hand shapes of a minimal pair apart; magnified about its centroid the shape spans
    ``zoom`` times as many pixels. Where a part lies stays in the body channels (the wrists, 9 and 10, and the
    nose), which are not moved. Points outside the frame after magnification render as nothing (Gaussians
    centred outside), and undetected parts (scores 0) stay empty.
    """
    out = keypoints.clone()
    centre = (size - 1) / 2
    for part in PARTS:
        index = torch.as_tensor(part, device=keypoints.device)
        points = keypoints[..., index, :]
        weight = points[..., 2:3]
        total = weight.sum(-2, keepdim=True).clamp(min=1e-6)
        centroid = (points[..., :2] * weight).sum(-2, keepdim=True) / total
        out[..., index, :2] = (points[..., :2] - centroid) * zoom + centre
    return out
