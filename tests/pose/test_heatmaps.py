"""Heatmaps: peak location and value, separability against a dense reference, transforms."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from signdistill.pose.heatmaps import part_centred, render_heatmaps, signkd_heatmaps, transform_keypoints
from signdistill.pose.layout import LEFT_HAND, RIGHT_HAND


def test_peak_at_keypoint_scaled_by_score() -> None:
    kp = torch.tensor([[[10.0, 20.0, 1.0], [5.0, 7.0, 0.5], [3.0, 3.0, 0.0]]])
    maps = render_heatmaps(kp, (32, 24), sigma=2.0)
    assert maps.shape == (1, 3, 32, 24)
    y, x = np.unravel_index(int(maps[0, 0].argmax()), (32, 24))
    assert (x, y) == (10, 20) and float(maps[0, 0].max()) == 1.0
    assert float(maps[0, 1].max()) == 0.5
    assert float(maps[0, 2].abs().max()) == 0.0


def test_matches_dense_gaussian() -> None:
    kp = torch.rand(2, 5, 3) * torch.tensor([16.0, 12.0, 1.0])
    maps = render_heatmaps(kp, (12, 16), sigma=3.0)
    yy, xx = torch.meshgrid(torch.arange(12.0), torch.arange(16.0), indexing="ij")
    for n in range(2):
        for k in range(5):
            x, y, s = kp[n, k]
            dense = s * torch.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * 9.0))
            torch.testing.assert_close(maps[n, k], dense)


def test_flip_swaps_hands_and_mirrors_x() -> None:
    kp = torch.zeros(1, 133, 3)
    kp[0, RIGHT_HAND[0]] = torch.tensor([50.0, 60.0, 1.0])
    kp[0, LEFT_HAND[0]] = torch.tensor([150.0, 60.0, 1.0])
    out = transform_keypoints(kp, (260, 210), resize=210, crop_top=0, crop_left=0, crop=210, out_size=210, flip=True)
    assert float(out[0, LEFT_HAND[0], 0]) == 209 - 50  # the right hand, mirrored, is now the left one
    assert float(out[0, RIGHT_HAND[0], 0]) == 209 - 150


def test_signkd_subset_shape() -> None:
    maps = signkd_heatmaps(torch.rand(4, 133, 3) * 112, out_size=112)
    assert maps.shape == (4, 79, 112, 112)


def test_part_centred_magnifies_each_hand_about_its_centre() -> None:
    """A 2 px hand at the frame's edge becomes a 6 px hand at the centre (zoom 3); wrists stay where they were;
    an undetected hand stays empty."""
    keypoints = torch.zeros(1, 133, 3)
    keypoints[0, 9] = torch.tensor([3.0, 20.0, 1.0])  # left wrist (body)
    keypoints[0, LEFT_HAND] = torch.tensor([3.0, 20.0, 1.0])
    keypoints[0, LEFT_HAND[1], :2] = torch.tensor([5.0, 20.0])  # one fingertip 2 px to the right
    out = part_centred(keypoints, 28, 3.0)
    hand = out[0, LEFT_HAND, :2]
    assert float(hand[:, 0].max() - hand[:, 0].min()) == pytest.approx(6.0)
    centroid = hand.mean(0)
    assert torch.allclose(centroid, torch.tensor([13.5, 13.5]), atol=1e-4)
    assert torch.equal(out[0, 9], keypoints[0, 9])
    assert float(out[0, RIGHT_HAND, 2].sum()) == 0.0  # no detection: no heatmap
    maps = signkd_heatmaps(keypoints, 28, 1.0, part_zoom=3.0)
    assert float(maps[0, 42:63].sum()) == 0.0  # right hand channels (after body 11, mouth 10, left hand 21)
    assert float(maps[0, 21:42].sum()) > 0
