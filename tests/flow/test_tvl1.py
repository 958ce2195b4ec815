"""TV-L1: torch against OpenCV on pairs with known flow, batch independence, storage, CLI."""

import math

import cv2
import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from signdistill.console import app
from signdistill.flow import TVL1Params, dequantise_flow, opencv_tvl1_flow, quantise_flow, tvl1_flow
from signdistill.flow.synthetic import epe, make_pair, rotation, smooth_field, translation

SIZE = 96
MARGIN = SIZE // 16


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def cases():
    centre = (SIZE - 1) / 2
    return {"shift 1px": make_pair("shift", translation(0.8, 0.6), SIZE, 0),
            "rotate 3deg": make_pair("rotate", rotation(3.0, centre, centre), SIZE, 1),
            "field 2px": make_pair("field", smooth_field(2.0, SIZE, 3), SIZE, 2),
            "shift 12px": make_pair("big", translation(12 * math.cos(0.5), 12 * math.sin(0.5)), SIZE, 3)}


@pytest.fixture(scope="module")
def torch_flows(cases):
    first = torch.from_numpy(np.stack([c.img1 for c in cases.values()]))
    second = torch.from_numpy(np.stack([c.img2 for c in cases.values()]))
    return dict(zip(cases, tvl1_flow(first, second), strict=True))


@pytest.mark.parametrize("name", ["shift 1px", "rotate 3deg", "field 2px"])
def test_torch_no_worse_than_opencv_where_opencv_converges(cases, torch_flows, name):
    case = cases[name]
    cv_error = epe(opencv_tvl1_flow(case.img1, case.img2), case.flow, MARGIN)
    assert cv_error < 0.5  # the case is one OpenCV handles
    assert epe(torch_flows[name], case.flow, MARGIN) <= cv_error + 0.01


def test_torch_follows_a_large_translation_opencv_loses(cases, torch_flows):
    case = cases["shift 12px"]
    cv_error = epe(opencv_tvl1_flow(case.img1, case.img2), case.flow, MARGIN)
    torch_error = epe(torch_flows["shift 12px"], case.flow, MARGIN)
    assert torch_error < 0.5 * cv_error
    assert torch_error < 0.1


def test_batched_equals_per_pair_and_chunking_changes_nothing(cases, torch_flows):
    for name, case in cases.items():
        alone = tvl1_flow(torch.from_numpy(case.img1), torch.from_numpy(case.img2))
        assert alone.shape == (SIZE, SIZE, 2) and alone.dtype == torch.float32
        torch.testing.assert_close(alone, torch_flows[name], atol=1e-4, rtol=0)
    first = torch.from_numpy(np.stack([c.img1 for c in cases.values()]))
    second = torch.from_numpy(np.stack([c.img2 for c in cases.values()]))
    chunked = tvl1_flow(first, second, chunk_pixels=SIZE * SIZE)  # one pair per solver chunk
    torch.testing.assert_close(chunked, torch.stack(list(torch_flows.values())), atol=1e-4, rtol=0)


def test_zero_motion_gives_zero_flow(cases):
    img = torch.from_numpy(cases["field 2px"].img1)
    still = tvl1_flow(torch.stack([img, img]), torch.stack([img, img]))
    assert still.abs().max() < 1e-3


def test_input_range_does_not_matter(cases):
    case = cases["shift 1px"]
    a, b = torch.from_numpy(case.img1), torch.from_numpy(case.img2)
    torch.testing.assert_close(tvl1_flow(a / 255, b / 255), tvl1_flow(a, b), atol=2e-3, rtol=0)


def test_pyramid_reaches_about_16_px():
    params = TVL1Params()
    assert params.num_scales(112, 112) == 4  # 112, 56, 28, 14
    assert params.num_scales(224, 224) == 5  # ... 14
    assert params.num_scales(10, 10) == 1
    with pytest.raises(ValueError, match="median must be 0 or an odd kernel size >= 3, got 4"):
        TVL1Params(median=4)
    with pytest.raises(TypeError, match="not_a_parameter"):
        tvl1_flow(torch.zeros(8, 8), torch.zeros(8, 8), not_a_parameter=1)


def test_synthetic_pair_is_exact_for_integer_shift():
    pair = make_pair("shift", translation(3.0, -2.0), 32, 5)  # img2(x + (3, -2)) = img1(x)
    np.testing.assert_allclose(pair.img2[:-2, 3:], pair.img1[2:, :-3], atol=1e-3)
    np.testing.assert_array_equal(pair.flow[..., 0], 3.0)
    assert epe(pair.flow + np.float32(0.5), pair.flow, 0) == pytest.approx(0.5 * math.sqrt(2), abs=1e-6)


STEP = 40 / 255


@pytest.mark.parametrize("kind", ["numpy", "torch"])
def test_quantise_rounds_and_saturates(kind):
    values = np.array([0.0, 0.4 * STEP, 0.6 * STEP, 0.9 * STEP, -0.9 * STEP, -0.4 * STEP, 20.0, -20.0, 35.0, -35.0],
                      np.float32)
    expected = np.array([128, 128, 129, 129, 127, 128, 255, 0, 255, 0], np.uint8)  # truncation gives 128 at 0.9
    flow = values if kind == "numpy" else torch.from_numpy(values)
    codes = quantise_flow(flow)
    codes = codes.numpy() if kind == "torch" else codes
    assert codes.dtype == np.uint8
    np.testing.assert_array_equal(codes, expected)
    assert float(dequantise_flow(np.uint8(128))) == 0.0


@pytest.mark.parametrize("kind", ["numpy", "torch"])
def test_quantise_round_trip_within_half_a_step(kind):
    values = np.linspace(-20, 20, 40002, dtype=np.float32).reshape(-1, 1, 2)
    flow = values if kind == "numpy" else torch.from_numpy(values)
    back = dequantise_flow(quantise_flow(flow, bound=20), bound=20)
    back = back.numpy() if kind == "torch" else back
    assert back.dtype == np.float32
    assert np.abs(back - values).max() <= 0.5 * STEP + 1e-5


@pytest.mark.parametrize("backend", ["torch", "opencv"])
def test_cli_flow_writes_hw2_float32(tmp_path, cases, backend):
    case = cases["shift 1px"]
    paths = [tmp_path / "a.png", tmp_path / "b.png"]
    for path, img in zip(paths, (case.img1, case.img2), strict=True):
        colour = np.repeat(np.clip(img, 0, 255).round().astype(np.uint8)[..., None], 3, axis=2)
        cv2.imwrite(str(path), colour)
    out = tmp_path / "flow" / "f.npy"
    result = CliRunner().invoke(app, ["flow", *map(str, paths), "--out", str(out), "--backend", backend])
    assert result.exit_code == 0, result.output
    field = np.load(out)
    assert field.shape == (SIZE, SIZE, 2) and field.dtype == np.float32
    assert epe(field, case.flow, MARGIN) < 0.2


def test_cli_flow_rejects_missing_file(tmp_path):
    result = CliRunner().invoke(app, ["flow", str(tmp_path / "no.png"), str(tmp_path / "no.png"),
                                      "--out", str(tmp_path / "f.npy")])
    assert result.exit_code == 2
