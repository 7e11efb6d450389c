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
    """Non-overlapping max pooling of spikes: a pooled unit spikes when any unit of its window spikes.

    Simulated as integrate-and-fire units with unit weights, no memory (decay
    0), alpha 1 and threshold 0.5, never plastic: the spike version of a max
    (a max over 0/1 spike indicators is their OR). ``AvgPool`` below is the
    average; every pooling layer is a ``Pool`` (fixed, weightless, unit
    synapses), the two differ only in these values and in the reset.
    """

    in_shape: tuple[int, int, int]
    size: int

    @property
    def out_shape(self) -> tuple[int, int, int]:
        channels, height, width = self.in_shape
        return (channels, height // self.size, width // self.size)

    # The fixed values a max pooling layer runs with.
    alpha = 1.0
    threshold = 0.5
    decay = 0.0
    reset_by_subtraction = False   # on a spike v <- 0, as in every other layer


@dataclass(frozen=True)
class AvgPool(Pool):
    """Non-overlapping average pooling of spikes: a pooled unit fires at the mean rate of its window.

    Average pooling is linear, so in rate-based conversion (Diehl et al. 2015,
    Rueckauer et al. 2017) it is a fixed synaptic layer of weight 1/k^2 from
    each of the k x k units of the window into an integrate-and-fire unit. Here:

    - unit synapses (as for max pooling) and ``alpha = 1/k^2``: each window
      spike adds 1/k^2, so the potential counts "spikes of the mean unit";
    - ``decay = 1``, a perfect integrator, whatever the conv layers' decay:
      with a leak lambda < 1 the charge of sparse window spikes would drain
      away and a window firing below (1 - lambda) x threshold per step would
      leave the pooled unit silent, a thresholded (nonlinear) pooling, not an
      average;
    - reset by subtraction, ``v <- v - 1``: the overshoot above one mean
      spike is kept, not thrown away as a reset to 0 would (Rueckauer et al.'s
      remedy for the conversion error of reset to zero);
    - ``threshold = 1 - 1/(2 k^2)``, half a quantum below one mean spike: the
      potential only takes multiples of 1/k^2, so the unit fires exactly when
      k^2 window spikes have accumulated, under both spike conditions (v > or
      >= threshold) and with a margin of 1/(2 k^2) against rounding.

    Together: between two of its spikes the potential stays below 1, a step
    adds at most k^2 quanta (one spike per window unit), so the unit never
    owes more than one spike, and after any number of steps its spike count is
    exactly ``floor(window spikes / k^2)``: the window's mean count rounded
    down. The pooled rates stay in the units of the layer before (the mean of
    its normalised rates), so the next weight layer's normalisation factor
    needs no change: it divides by the scale of the layer before the pooling,
    and its own maximum is measured on the averaged activations of the ANN.
    Never plastic.
    """

    @property
    def alpha(self) -> float:
        return 1.0 / (self.size * self.size)

    @property
    def threshold(self) -> float:
        return 1.0 - 0.5 / (self.size * self.size)

    decay = 1.0
    reset_by_subtraction = True    # on a spike v <- v - 1 (one mean spike)


@dataclass(frozen=True)
class SpikingNetwork:
    """A feed-forward spiking network.

    ``weights[l]`` is a (n_post, n_pre) float64 matrix for a dense layer, the
    (out, in, kh, kw) kernel for a ``Conv`` and None for a ``Pool`` (max or ``AvgPool``);
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
