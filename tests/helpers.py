"""Small networks and rasters, and where the test data lives; imported by the test modules."""

import os
from pathlib import Path

import numpy as np
import pytest

from bio_sleep.converters import SpikingNetwork

SMALL_SIZES = (64, 48, 32, 10)
# MNIST for the tests that need it: $BIO_SLEEP_DATA, else the project's shared data folder beside the checkout.
SHARED_DATA = Path(os.environ.get("BIO_SLEEP_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data")
needs_shared_mnist = pytest.mark.skipif(
    not (SHARED_DATA / "MNIST" / "raw").is_dir(), reason="no MNIST copy ($BIO_SLEEP_DATA or ../shared/data)"
)


def small_network(seed: int = 1, sizes=SMALL_SIZES) -> SpikingNetwork:
    rng = np.random.default_rng(seed)
    weights = tuple(rng.normal(0, 0.05, (n_post, n_pre)) for n_pre, n_post in zip(sizes[:-1], sizes[1:]))
    return SpikingNetwork(weights, (1.0, 1.2, 1.5), (0.3, 0.3, 0.3))


def small_raster(steps: int = 300, n_inputs: int = SMALL_SIZES[0], seed: int = 2) -> np.ndarray:
    return np.random.default_rng(seed).random((steps, n_inputs)) < 0.2
