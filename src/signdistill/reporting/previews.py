"""Previews people look at before training: frames of a few signers, TV-L1 flow in colour-wheel coding, SignKD's
keypoint heatmaps on the crops they are trained with."""

from __future__ import annotations

import itertools

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from signdistill.data.corpora import CorpusIndex, Sample
from signdistill.data.features import FeatureStore
from signdistill.data.frames import FrameReadError, read_frames
from signdistill.data.store import FrameStore


def _first_readable(samples: list[Sample]) -> tuple[Sample, np.ndarray] | None:
    for sample in samples:
        try:
            return sample, read_frames(sample.source)
        except FrameReadError:
            continue  # the preprocess report names it; the preview just shows another video
    return None


def signer_preview(corpus: CorpusIndex, signers: int = 4, frames_per_signer: int = 6) -> Figure:
    """Sample frames of a few signers, one row each, for a first look at the corpus."""
    by_signer: dict[str, list[Sample]] = {}
    for sample in corpus.samples:
        by_signer.setdefault(sample.signer, []).append(sample)
    rows = [found for _, samples in sorted(by_signer.items()) if (found := _first_readable(samples[:5]))]
    rows = rows[:signers]
    fig, axes = plt.subplots(max(len(rows), 1), frames_per_signer,
                             figsize=(1.6 * frames_per_signer, 2.0 * max(len(rows), 1)), squeeze=False)
    for row, (sample, frames) in enumerate(rows):
        picks = np.linspace(0, len(frames) - 1, frames_per_signer).astype(int)
        for col, t in enumerate(picks):
            ax = axes[row, col]
            ax.imshow(frames[t])
            ax.set_xticks([])
            ax.set_yticks([])
            if col == 0:
                ax.set_ylabel(sample.signer, fontsize=8)
            ax.set_title(f"{sample.id[-8:]} t={t}", fontsize=6)
    fig.tight_layout()
    return fig


def _preview_videos(feature_store: FeatureStore, index: pd.DataFrame, count: int) -> list[tuple[str, str]]:
    """A few videos of different signers from the dev split (or whatever split has flow)."""
    picks: list[tuple[str, str]] = []
    for split in ("dev", "test", "train"):
        try:
            ids = set(feature_store.flow(split).ids())
        except FileNotFoundError:
            continue
        rows = index[(index.split == split) & index.id.isin(ids)].drop_duplicates("signer")
        picks += [(split, vid) for vid in rows.id.head(count - len(picks))]
        if len(picks) >= count:
            break
    return picks


def _busiest_frames(flow: np.ndarray, count: int) -> np.ndarray:
    """The frame with the most motion in each of ``count`` equal stretches of the video."""
    motion = np.linalg.norm(flow, axis=-1).mean((1, 2))
    bounds = np.linspace(0, len(flow), count + 1).astype(int)
    return np.array([lo + int(np.argmax(motion[lo:hi])) for lo, hi in itertools.pairwise(bounds) if hi > lo])


def _blank(ax: plt.Axes) -> None:
    ax.set_xticks([])
    ax.set_yticks([])


def flow_preview(feature_store: FeatureStore, frame_store: FrameStore, index: pd.DataFrame, params: dict) -> Figure:
    """Frames and their TV-L1 flow in colour-wheel coding (legend top right), a few videos, one per row."""
    videos = _preview_videos(feature_store, index, int(params.get("preview_videos", 3)))
    from signdistill.flow.quantise import dequantise_flow
    from signdistill.flow.visualise import colour_wheel, flow_to_rgb

    cols = int(params.get("preview_frames", 4))
    fig, axes = plt.subplots(max(len(videos), 1), 2 * cols, figsize=(1.5 * 2 * cols, 1.7 * max(len(videos), 1)),
                             squeeze=False)
    bound = float(params.get("flow_bound", 20.0))
    for row, (split, vid) in enumerate(videos):
        flow = dequantise_flow(feature_store.flow(split)[vid], bound)
        frames = frame_store.split(feature_store.flow_size, split)[vid]
        peak = float(np.percentile(np.linalg.norm(flow, axis=-1), 99.9)) or 1.0
        for col, t in enumerate(_busiest_frames(flow, cols)):
            axes[row, 2 * col].imshow(frames[t])
            axes[row, 2 * col + 1].imshow(flow_to_rgb(flow[t], peak))
            axes[row, 2 * col].set_title(f"{vid[-8:]} t={t}", fontsize=6)
            axes[row, 2 * col + 1].set_title(f"flow, max {peak:.1f} px", fontsize=6)
    for ax in axes.flat:
        _blank(ax)
    fig.tight_layout(rect=(0, 0, 0.95, 1))
    legend = fig.add_axes((0.955, 0.8, 0.04, 0.04 * fig.get_figwidth() / fig.get_figheight()))
    legend.imshow(colour_wheel(64))
    legend.set_title("direction", fontsize=5)
    _blank(legend)
    return fig


def heatmap_preview(feature_store: FeatureStore, frame_store: FrameStore, index: pd.DataFrame,
                    params: dict) -> Figure:
    """SignKD's 79 keypoint heatmaps (max over channels) on the centre-cropped RGB they are trained with."""
    import torch

    from signdistill.pose.heatmaps import signkd_heatmaps, transform_keypoints

    videos = _preview_videos(feature_store, index, int(params.get("preview_videos", 3)))
    cols = int(params.get("preview_frames", 4))
    crop, sigma = int(params.get("heatmap_crop", 112)), float(params.get("heatmap_sigma", 4.0))
    keypoints = feature_store.keypoints()
    fig, axes = plt.subplots(max(len(videos), 1), cols, figsize=(1.8 * cols, 1.9 * max(len(videos), 1)),
                             squeeze=False)
    size = feature_store.flow_size
    margin = (size - crop) // 2
    for row, (split, vid) in enumerate(videos):
        if vid not in keypoints:
            continue
        frames = frame_store.split(size, split)[vid]
        entry = keypoints[vid]
        points = transform_keypoints(torch.from_numpy(entry["keypoints"]), tuple(entry["frame_size"]), size,
                                     margin, margin, crop, crop, flip=False)
        heat = signkd_heatmaps(points, crop, sigma).amax(1).numpy()
        for col, t in enumerate(np.linspace(0, len(frames) - 1, cols + 2).astype(int)[1:-1]):
            ax = axes[row, col]
            ax.imshow(frames[t][margin:margin + crop, margin:margin + crop])
            ax.imshow(heat[t], cmap="inferno", alpha=0.55, vmin=0, vmax=1)
            ax.set_title(f"{vid[-8:]} t={t}", fontsize=6)
    for ax in axes.flat:
        _blank(ax)
    fig.suptitle(f"SignKD 79-point heatmaps, sigma {sigma:g} at {crop} px", fontsize=8)
    fig.tight_layout()
    return fig
