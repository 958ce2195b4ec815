"""Test-session settings shared by every test."""

import os

# Kedro's telemetry would wait for consent or the network; neither exists in CI.
os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")
os.environ.setdefault("MPLBACKEND", "Agg")
