"""Shared fixtures: small networks and rasters, and a cache folder per session."""
from pathlib import Path

import numpy as np
import pytest

from bio_sleep.converters import SleepDynamics, SpikingNetwork

SMALL_SIZES = (64, 48, 32, 10)
# The project's shared data folder sits beside the checkout (read-only).
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
needs_shared_mnist = pytest.mark.skipif(not (SHARED_DATA / "MNIST" / "raw").is_dir(), reason="no shared MNIST copy")


@pytest.fixture(autouse=True, scope="session")
def _cache_dir(tmp_path_factory):
    import os

    os.environ["BIO_SLEEP_CACHE"] = str(tmp_path_factory.mktemp("cache"))


def small_network(seed: int = 1, sizes=SMALL_SIZES) -> SpikingNetwork:
    rng = np.random.default_rng(seed)
    weights = tuple(rng.normal(0, 0.05, (n_post, n_pre)) for n_pre, n_post in zip(sizes[:-1], sizes[1:]))
    return SpikingNetwork(weights, (1.0, 1.2, 1.5), (0.3, 0.3, 0.3))


def small_raster(steps: int = 300, n_inputs: int = SMALL_SIZES[0], seed: int = 2) -> np.ndarray:
    return np.random.default_rng(seed).random((steps, n_inputs)) < 0.2


@pytest.fixture
def network():
    return small_network()


@pytest.fixture
def dynamics():
    return SleepDynamics(0.95, 0.01, 0.003, "constant", "above")
