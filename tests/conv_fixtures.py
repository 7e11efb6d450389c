"""Small spiking networks with fixed random values, shared by the conv sleep tests."""

from __future__ import annotations

import numpy as np

from bio_sleep.converters.spiking_network import Conv, Dense, Pool, SpikingNetwork


def small_conv_network(seed: int = 0, pool_kind: type[Pool] = Pool) -> SpikingNetwork:
    """(2, 8, 8) -> conv 3x3 to 3 channels -> pool 2 -> conv 2x2 to 4 channels -> dense 16 -> 5.

    ``pool_kind`` is ``Pool`` (max pooling) or ``AvgPool``.
    """
    rng = np.random.default_rng(seed)
    conv1 = Conv((2, 8, 8), (3, 2, 3, 3))
    pool = pool_kind(conv1.out_shape, 2)
    conv2 = Conv(pool.out_shape, (4, 3, 2, 2))
    weights = (
        rng.normal(0.05, 0.3, conv1.kernel_shape),
        None,
        rng.normal(0.1, 0.4, conv2.kernel_shape),
        rng.normal(0.1, 0.3, (5, 16)),
    )
    return SpikingNetwork(
        weights, (1.0, pool.alpha, 0.9, 1.1), (0.6, pool.threshold, 0.5, 0.4), (conv1, pool, conv2, Dense(16, 5))
    )


def input_raster(steps: int, n_inputs: int, probability: float = 0.3, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).random((steps, n_inputs)) < probability
