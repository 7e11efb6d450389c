"""What a sleep backend receives: the network's values and the dynamics' values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from bio_sleep.equations.pooling import MAX_POOLING_UNIT, average_pooling_unit


class Connection:
    """One kind of connection into a layer: what both backends need to know of it.

    ``kind`` names the backend hook that builds or steps it (one per backend:
    ``brian2_network.CONNECT`` and ``reference.LAYERS``); ``reset`` names the
    postsynaptic reset (``equations.neurons.RESETS``); ``membrane_decay`` is the
    decay the postsynaptic layer runs with; ``flat_weights`` / ``weights_from_flat``
    are the weight layout (None for a weightless kind); ``learns`` says whether
    the kind is plastic by default.
    """

    kind: ClassVar[str]
    reset: ClassVar[str] = "zero"
    learns: ClassVar[bool] = True

    @property
    def in_size(self) -> int:
        return int(np.prod(self.in_shape))

    @property
    def out_size(self) -> int:
        return int(np.prod(self.out_shape))

    def membrane_decay(self, dynamics_decay: float) -> float:
        return dynamics_decay

    def flat_weights(self, weights: np.ndarray | None) -> np.ndarray | None:
        return np.ascontiguousarray(weights, dtype=np.float64).ravel()

    def weights_from_flat(self, flat: np.ndarray) -> np.ndarray | None:
        return np.asarray(flat, dtype=np.float64).reshape(self.weight_shape).copy()


@dataclass(frozen=True)
class Dense(Connection):
    """All-to-all weights, stored (n_post, n_pre) as torch holds them."""

    n_pre: int
    n_post: int
    kind: ClassVar[str] = "dense"

    @property
    def in_shape(self) -> tuple[int]:
        return (self.n_pre,)

    @property
    def out_shape(self) -> tuple[int]:
        return (self.n_post,)

    @property
    def weight_shape(self) -> tuple[int, int]:
        return (self.n_post, self.n_pre)


@dataclass(frozen=True)
class Conv(Connection):
    """A valid (stride 1, no padding) convolution with one shared kernel, unrolled between unit layers."""

    in_shape: tuple[int, int, int]  # (channels, height, width) of the presynaptic layer
    kernel_shape: tuple[int, int, int, int]  # (out_channels, in_channels, kh, kw)
    kind: ClassVar[str] = "conv"

    @property
    def out_shape(self) -> tuple[int, int, int]:
        _, height, width = self.in_shape
        out, _, kh, kw = self.kernel_shape
        return (out, height - kh + 1, width - kw + 1)

    @property
    def weight_shape(self) -> tuple[int, int, int, int]:
        return self.kernel_shape


@dataclass(frozen=True)
class Pool(Connection):
    """Non-overlapping max pooling of spikes: a pooled unit spikes when any unit of its window spikes.

    Every pooling layer is a ``Pool`` (fixed, weightless, unit synapses, never
    plastic); ``AvgPool`` differs only in its units' values, which live with
    the equations (``equations.pooling``).
    """

    in_shape: tuple[int, int, int]
    size: int
    kind: ClassVar[str] = "pool"
    learns: ClassVar[bool] = False
    alpha: ClassVar[float] = MAX_POOLING_UNIT.alpha
    threshold: ClassVar[float] = MAX_POOLING_UNIT.threshold
    decay: ClassVar[float] = MAX_POOLING_UNIT.decay
    reset: ClassVar[str] = MAX_POOLING_UNIT.reset

    @property
    def out_shape(self) -> tuple[int, int, int]:
        channels, height, width = self.in_shape
        return (channels, height // self.size, width // self.size)

    def membrane_decay(self, dynamics_decay: float) -> float:
        return self.decay  # the unit's own, whatever the dynamics' (0 for max, 1 for average pooling)

    def flat_weights(self, weights) -> None:
        return None

    def weights_from_flat(self, flat) -> None:
        return None


@dataclass(frozen=True)
class AvgPool(Pool):
    """Non-overlapping average pooling of spikes: a pooled unit fires at the mean rate of its window
    (``equations.pooling.average_pooling_unit`` says how and why)."""

    reset: ClassVar[str] = "subtract"

    @property
    def alpha(self) -> float:
        return average_pooling_unit(self.size).alpha

    @property
    def threshold(self) -> float:
        return average_pooling_unit(self.size).threshold

    decay: ClassVar[float] = 1.0


@dataclass(frozen=True)
class SpikingNetwork:
    """A feed-forward spiking network.

    ``connections[l]`` is the kind of the l-th connection (``Dense``, ``Conv``,
    ``Pool``, ``AvgPool``); left out (or None for a layer), a layer is dense, made
    ``Dense`` here from its weights' shape. ``weights[l]`` is in that kind's layout: (n_post, n_pre) float64 for
    dense, the (out, in, kh, kw) kernel for a convolution, None for pooling.
    ``alphas[l]`` scales the summed weights arriving at layer l+1 (normalisation
    factor x alpha_scale); ``thresholds[l]`` is that layer's firing threshold.
    """

    weights: tuple[np.ndarray | None, ...]
    alphas: tuple[float, ...]
    thresholds: tuple[float, ...]
    connections: tuple[Connection, ...] = None

    def __post_init__(self):
        given = self.connections if self.connections is not None else (None,) * len(self.weights)
        kinds = tuple(Dense(w.shape[1], w.shape[0]) if c is None else c for c, w in zip(given, self.weights))
        object.__setattr__(self, "connections", kinds)

    @property
    def sizes(self) -> tuple[int, ...]:
        return (self.connections[0].in_size,) + tuple(c.out_size for c in self.connections)

    def default_plasticity(self) -> tuple[bool, ...]:
        """Every dense layer learns; in a network with convolutions only the convolutions do (SRC, Table II)."""
        has_conv = any(c.kind == "conv" for c in self.connections)
        return tuple(c.learns and (c.kind == "conv" or not has_conv) for c in self.connections)

    def with_weights(self, weights) -> SpikingNetwork:
        return SpikingNetwork(tuple(weights), self.alphas, self.thresholds, self.connections)


@dataclass(frozen=True)
class SleepDynamics:
    """Values of the sleep dynamics that are the same for every layer."""

    decay: float
    inc: float
    dec: float
    stdp_rule: str = "constant"  # "constant" | "weight_dependent"
    spike_condition: str = "above"  # "above" (v > threshold) | "at_or_above" (v >= threshold)
