"""Regression: narrow ResNet-18 baselines used to corrupt the heap in oneDNN's convolution backward.

Run in a subprocess so that a crash fails this test instead of killing the test session.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

SCRIPT = """
import torch
from signdistill.models.baseline import BaselineConfig, BaselineRecognizer
torch.manual_seed(0)
model = BaselineRecognizer(BaselineConfig(num_classes=10, width={width}, hidden=16, lstm_hidden=8, lstm_layers=1))
batch = {{"video": torch.randint(0, 255, (2, 40, 112, 112, 3), dtype=torch.uint8), "lengths": torch.tensor([40, 33]),
         "labels": torch.tensor([1, 2, 3, 4]), "label_lengths": torch.tensor([2, 2])}}
for _ in range(3):
    model(batch)["losses"]["ctc"].backward()
print("ok")
"""


@pytest.mark.parametrize("width", [4, 8])
def test_narrow_baseline_trains_without_crashing(width: int) -> None:
    run = subprocess.run([sys.executable, "-c", SCRIPT.format(width=width)], capture_output=True, text=True,
                         check=False, timeout=300)
    assert run.returncode == 0 and run.stdout.strip() == "ok", (run.returncode, run.stderr[-2000:])


def test_frame_features_follow_the_cnn_dtype_under_autocast() -> None:
    """CUDA training runs under autocast (``TrainConfig.amp``): the per-frame features must take the CNN's half
    dtype, not the float input's (a CUDA run of the baseline, SMKD and CTCA failed in ``feats[mask] = ...``).
    CPU autocast to bfloat16 exercises the same path."""
    from signdistill.models.baseline import frame_features
    from signdistill.models.resnet import ResNet18Frames

    frames = ResNet18Frames(width=4).eval()
    x = torch.rand(2, 5, 3, 32, 32)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        feats = frame_features(frames, x, torch.tensor([5, 3]))
    assert feats.shape == (2, 5, 32) and feats.dtype == torch.bfloat16
    assert torch.all(feats[1, 3:] == 0) and torch.any(feats[1, :3] != 0)
