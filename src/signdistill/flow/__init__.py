"""Optical flow: batched torch TV-L1 (``tvl1``), its OpenCV reference, uint8 storage and test pairs."""

from signdistill.flow.quantise import dequantise_flow, quantise_flow
from signdistill.flow.tvl1 import TVL1Params, opencv_tvl1_flow, tvl1_flow

__all__ = ["TVL1Params", "dequantise_flow", "opencv_tvl1_flow", "quantise_flow", "tvl1_flow"]
