"""What a sleep backend receives: the network's values and the dynamics' values."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SpikingNetwork:
    """A feed-forward spiking network: one weight matrix per layer, shape (n_post, n_pre), float64.

    ``alphas[l]`` scales the summed weights arriving at layer l+1 (normalisation
    factor x alpha_scale); ``thresholds[l]`` is that layer's firing threshold.
    """

    weights: tuple[np.ndarray, ...]
    alphas: tuple[float, ...]
    thresholds: tuple[float, ...]

    @property
    def sizes(self) -> tuple[int, ...]:
        return (self.weights[0].shape[1],) + tuple(w.shape[0] for w in self.weights)

    def with_weights(self, weights) -> "SpikingNetwork":
        return SpikingNetwork(tuple(weights), self.alphas, self.thresholds)


@dataclass(frozen=True)
class SleepDynamics:
    """Values of the sleep dynamics that are the same for every layer."""

    decay: float
    inc: float
    dec: float
    stdp_rule: str = "constant"            # "constant" | "weight_dependent"
    spike_condition: str = "above"          # "above" (v > threshold) | "at_or_above" (v >= threshold)
