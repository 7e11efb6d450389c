"""What a sleep backend receives: the network's values and the dynamics' values."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Conv:
    """A valid (stride 1, no padding) convolution with one shared kernel, unrolled between unit layers."""

    in_shape: tuple[int, int, int]          # (channels, height, width) of the presynaptic layer
    kernel_shape: tuple[int, int, int, int]  # (out_channels, in_channels, kh, kw)

    @property
    def out_shape(self) -> tuple[int, int, int]:
        _, height, width = self.in_shape
        out, _, kh, kw = self.kernel_shape
        return (out, height - kh + 1, width - kw + 1)


@dataclass(frozen=True)
class Pool:
    """Non-overlapping pooling of spikes: a pooled unit spikes when any unit of its window spikes.

    Simulated as integrate-and-fire units with unit weights, no memory (decay
    0), alpha 1 and threshold 0.5, never plastic: the spike version of a max.
    """

    in_shape: tuple[int, int, int]
    size: int

    @property
    def out_shape(self) -> tuple[int, int, int]:
        channels, height, width = self.in_shape
        return (channels, height // self.size, width // self.size)

    # The fixed values a pooling layer runs with.
    alpha = 1.0
    threshold = 0.5
    decay = 0.0


@dataclass(frozen=True)
class SpikingNetwork:
    """A feed-forward spiking network.

    ``weights[l]`` is a (n_post, n_pre) float64 matrix for a dense layer, the
    (out, in, kh, kw) kernel for a ``Conv`` and None for a ``Pool``;
    ``connections[l]`` says which (None: all dense, the fully connected case).
    ``alphas[l]`` scales the summed weights arriving at layer l+1 (normalisation
    factor x alpha_scale); ``thresholds[l]`` is that layer's firing threshold.
    """

    weights: tuple[np.ndarray | None, ...]
    alphas: tuple[float, ...]
    thresholds: tuple[float, ...]
    connections: tuple[Conv | Pool | None, ...] | None = None

    def connection(self, index: int) -> Conv | Pool | None:
        return None if self.connections is None else self.connections[index]

    @property
    def sizes(self) -> tuple[int, ...]:
        if self.connections is None or self.connections[0] is None:
            sizes = [self.weights[0].shape[1]]
        else:
            sizes = [int(np.prod(self.connections[0].in_shape))]
        for weights, connection in zip(self.weights, self.connections or (None,) * len(self.weights)):
            sizes.append(weights.shape[0] if connection is None else int(np.prod(connection.out_shape)))
        return tuple(sizes)

    def with_weights(self, weights) -> "SpikingNetwork":
        return SpikingNetwork(tuple(weights), self.alphas, self.thresholds, self.connections)


@dataclass(frozen=True)
class SleepDynamics:
    """Values of the sleep dynamics that are the same for every layer."""

    decay: float
    inc: float
    dec: float
    stdp_rule: str = "constant"            # "constant" | "weight_dependent"
    spike_condition: str = "above"          # "above" (v > threshold) | "at_or_above" (v >= threshold)
