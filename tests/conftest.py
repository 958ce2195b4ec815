"""Test-session settings shared by every test."""

import os

import pytest

# Kedro's telemetry would wait for consent or the network; neither exists in CI.
os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(scope="module")
def one_thread():
    """Tiny tensors: one intra-op thread, since a second only adds OpenMP synchronisation (many times slower
    on a busy 2-core machine). Modules opt in with ``pytestmark = pytest.mark.usefixtures("one_thread")``."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
