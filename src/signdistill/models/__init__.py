"""Recognition models (no Kedro imports)."""
