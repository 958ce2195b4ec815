"""Nodes of the ``features`` pipeline (thin: the work is in ``signdistill.data.features``)."""

from __future__ import annotations

import dataclasses
import itertools

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure

from signdistill.data.corpora import CorpusIndex
from signdistill.data.features import FeatureConfig, FeatureStore
from signdistill.data.store import FrameStore
from signdistill.flow.quantise import dequantise_flow
from signdistill.flow.visualise import colour_wheel, flow_to_rgb
from signdistill.pose.heatmaps import signkd_heatmaps, transform_keypoints


def feature_config(params: dict) -> FeatureConfig:
    return FeatureConfig.from_params(params)


def plan_features(index: pd.DataFrame, corpus: CorpusIndex, frame_store: FrameStore, params: dict) -> dict:
    """Which videos to process and how (the ``feature_store`` dataset computes, caches and packs)."""
    failed = {p["id"] for p in frame_store.problems()}
    keep = set(index.id) - failed
    samples = [s for s in corpus.samples if s.id in keep]
    return {"samples": samples, "config": dataclasses.asdict(feature_config(params)),
            "frame_store": str(frame_store.root), "workers": int(params.get("workers", 0))}


def features_report(feature_store: FeatureStore) -> dict:
    """What was computed, from where, and every video with a problem (no person, too few frames, ...)."""
    return feature_store.summary()


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
