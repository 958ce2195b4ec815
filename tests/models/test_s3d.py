"""S3D encoder: block shapes, integer T/2 and T/4 bookkeeping, input channels, torchvision weight compatibility."""

from __future__ import annotations

import pytest
import torch
from torchvision.models.video import s3d

from signdistill.models.s3d import (
    ResidualInception,
    S3DEncoder,
    kinetics_encoder_state,
    load_kinetics_s3d,
    normalise_video_kinetics,
    s3d_block_lengths,
)


@pytest.mark.parametrize("frames", [5, 8, 13])
def test_block_shapes_and_integer_lengths(frames: int) -> None:
    encoder = S3DEncoder(width=0.25).eval()
    assert encoder.block_channels == (16, 48, 120, 208)
    with torch.no_grad():
        blocks, pooled = encoder(torch.randn(1, 3, frames, 32, 32))
    t = torch.tensor([frames])
    expected = [(16, 16), (48, 8), (120, 4), (208, 2)]  # (channels, H = W)
    for block, (feat, (channels, size)) in enumerate(zip(blocks, expected, strict=True), start=1):
        assert feat.shape == (1, channels, int(s3d_block_lengths(t, block)), size, size)
    assert pooled.shape == (1, -(-frames // 4), 208)  # ceil(T / 4) x C4


def test_block_lengths_are_exact_ceilings() -> None:
    lengths = torch.arange(1, 41)
    half, quarter = s3d_block_lengths(lengths, 1), s3d_block_lengths(lengths, 4)
    assert half.dtype == quarter.dtype == torch.int64
    assert half.tolist() == [-(-n // 2) for n in range(1, 41)]
    assert quarter.tolist() == [-(-n // 4) for n in range(1, 41)]
    assert torch.equal(s3d_block_lengths(lengths, 2), half) and torch.equal(s3d_block_lengths(lengths, 3), half)
    with pytest.raises(ValueError, match="1-4"):
        s3d_block_lengths(lengths, 5)


@pytest.mark.parametrize("in_channels", [79, 2])
def test_heatmap_and_flow_inputs(in_channels: int) -> None:
    encoder = S3DEncoder(in_channels, width=0.125)
    blocks, pooled = encoder(torch.randn(2, in_channels, 8, 16, 16))
    assert blocks[0].shape == (2, 8, 4, 8, 8) and pooled.shape == (2, 2, encoder.out_channels)
    pooled.sum().backward()
    assert encoder.features[0][0][0].weight.grad is not None


def test_width_one_matches_torchvision_s3d_keys_and_outputs() -> None:
    torch.manual_seed(0)
    reference = s3d(weights=None).eval()  # stands in for a local Kinetics-400 file
    encoder = S3DEncoder(bn_momentum=0.001).eval()
    filtered = kinetics_encoder_state(reference.state_dict())
    assert filtered.keys() == encoder.state_dict().keys()
    assert all(filtered[k].shape == v.shape for k, v in encoder.state_dict().items())
    load_kinetics_s3d(encoder, reference.state_dict())
    x = torch.randn(1, 3, 8, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(encoder(x)[0][-1], reference.features[:13](x))


def test_kinetics_weights_for_other_inputs_and_widths(tmp_path) -> None:
    state = s3d(weights=None).state_dict()
    path = tmp_path / "s3d_kinetics.pth"
    torch.save(state, path)
    encoder = S3DEncoder(in_channels=79)
    load_kinetics_s3d(encoder, path)  # a local file, as users supply it
    first = encoder.features[0][0][0].weight
    assert first.shape == (64, 79, 1, 7, 7)
    torch.testing.assert_close(first[:, 5:6], state["features.0.0.0.weight"].mean(1, keepdim=True))
    with pytest.raises(ValueError, match="width 1.0"):
        load_kinetics_s3d(S3DEncoder(width=0.5), state)


def test_normalise_video_kinetics_layout() -> None:
    video = torch.zeros(2, 4, 6, 5, 3, dtype=torch.uint8)
    video[..., 1] = 255
    x = normalise_video_kinetics(video)
    assert x.shape == (2, 3, 4, 6, 5)
    torch.testing.assert_close(x[0, 1, 0, 0, 0], torch.tensor((1 - 0.394666) / 0.22145))



def test_residual_shortcuts_wrap_every_inception_block_and_keep_shapes() -> None:
    plain, residual = S3DEncoder(width=0.125).eval(), S3DEncoder(width=0.125, residual=True).eval()
    x = torch.randn(1, 3, 9, 32, 32)
    with torch.no_grad():
        assert [b.shape for b in residual(x)[0]] == [b.shape for b in plain(x)[0]]
    assert residual.block_channels == plain.block_channels
    blocks = [m for m in residual.modules() if isinstance(m, ResidualInception)]
    assert len(blocks) == 7  # Mixed_3b, 3c, 4b ... 4f
    # with its inception branches silenced (each ends in batch norm + ReLU: zero affine -> zero output), a block
    # passes its input on through the shortcut: identity where the channels agree, a projection where they change
    silenced = [m for b in blocks for m in b.block.modules() if isinstance(m, torch.nn.BatchNorm3d)]
    for norm in silenced:
        torch.nn.init.zeros_(norm.weight)
        torch.nn.init.zeros_(norm.bias)
    identity = [b for b in blocks if isinstance(b.shortcut, torch.nn.Identity)]
    assert identity and len(identity) < len(blocks)
    for block in blocks:
        channels = next(m for m in block.block.modules() if isinstance(m, torch.nn.Conv3d)).in_channels
        inp = torch.randn(1, channels, 3, 4, 4)
        with torch.no_grad():
            out, projected = block(inp), block.shortcut(inp)
        torch.testing.assert_close(out, inp if block in identity else projected)
        assert out.abs().sum() > 0
    with pytest.raises(ValueError, match="no residual"):
        load_kinetics_s3d(S3DEncoder(residual=True), s3d(weights=None).state_dict())
