"""Keypoint layouts, extraction and heatmaps (no Kedro imports)."""
