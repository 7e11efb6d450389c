"""A trained bias-free CNN -> SpikingNetwork of conv, pooling and (optionally) dense layers.

Only as many weight layers are simulated as thresholds are given: the CNN
paper's Table II gives two thresholds, for its two convolutions, and its FC
head is not plastic, so with two thresholds the head is left out of the
simulation entirely (spikes there could not change the convolutions).
Trailing pooling layers, which would feed nothing, are dropped too.

Pooling: max pooling becomes ``Pool`` (a pooled unit spikes when any unit of
its window does), average pooling ``AvgPool`` (a perfect integrator of weight
1/k^2 per window unit with reset by subtraction, firing at the window's mean
rate); both are fixed. Pooling keeps the rate scale of the layer before it,
so the data-based normalisation factors of the weight layers are unchanged.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from bio_sleep.converters.normalisation import layer_factors
from bio_sleep.converters.spiking_network import AvgPool, Connection, Conv, Dense, Pool, SpikingNetwork
from bio_sleep.errors import BioSleepError

PASSIVE = (nn.ReLU, nn.Dropout, nn.Identity, nn.Flatten, nn.Unflatten)


def _check_conv(index: int, conv: nn.Conv2d) -> None:
    unsupported = {
        "stride": (conv.stride, (1, 1)),
        "padding": (conv.padding, (0, 0)),
        "dilation": (conv.dilation, (1, 1)),
        "groups": (conv.groups, 1),
    }
    for name, (value, allowed) in unsupported.items():
        if value != allowed and not (name == "padding" and value == "valid"):
            raise BioSleepError(
                f"layer {index} ({conv}): {name} = {value} cannot be unrolled into synapses; "
                f"only {name} = {allowed} is supported: rebuild the model with it and retrain"
            )
    if conv.padding_mode != "zeros" and conv.padding != (0, 0):
        raise BioSleepError(f"layer {index} ({conv}): padding mode {conv.padding_mode} is not supported")


def _pool(index: int, pool: nn.Module, shape) -> Pool:
    """The spiking pooling layer of a torch pooling module: ``Pool`` (max, an OR of spikes) or ``AvgPool``."""
    if not isinstance(pool, (nn.MaxPool2d, nn.AvgPool2d)):
        raise BioSleepError(
            f"layer {index} ({type(pool).__name__}) cannot be converted to spikes; use nn.MaxPool2d or nn.AvgPool2d"
        )
    kind = "max" if isinstance(pool, nn.MaxPool2d) else "average"
    size, stride = pool.kernel_size, pool.stride
    size = size if isinstance(size, int) else size[0] if len(set(size)) == 1 else None
    stride = stride if isinstance(stride, int) else stride[0] if len(set(stride)) == 1 else None
    dilation = getattr(pool, "dilation", 1)  # nn.AvgPool2d has none
    if (
        size is None
        or stride != size
        or pool.padding not in (0, (0, 0))
        or dilation not in (1, (1, 1))
        or pool.ceil_mode
    ):
        raise BioSleepError(
            f"layer {index} ({pool}): only square, non-overlapping {kind} pooling (stride = kernel size, "
            "no padding, dilation 1, floor mode) is supported"
        )
    if kind == "max":
        return Pool(shape, size)
    if pool.divisor_override not in (None, size * size):
        raise BioSleepError(
            f"layer {index} ({pool}): divisor_override = {pool.divisor_override} is not an average "
            f"of its {size}x{size} window; only the plain mean (divisor {size * size}) is supported"
        )
    return AvgPool(shape, size)


def cnn_structure(model: nn.Module, image_shape) -> list[tuple[nn.Module | None, Connection]]:
    """Per simulated connection: (torch weight module, None for pooling; its kind)."""
    if not isinstance(model, nn.Sequential):
        raise BioSleepError(
            f"sleep needs an nn.Sequential, got {type(model).__name__}; build it with bio_sleep.models.build_cnn"
        )
    if image_shape is None:
        raise BioSleepError(
            "a convolutional network needs image inputs (image_shape); these inputs are feature vectors"
        )
    shape, structure, flat = tuple(image_shape), [], False
    for index, module in enumerate(model):
        if getattr(module, "bias", None) is not None:
            raise BioSleepError(
                f"layer {index} ({module}) has a bias; the spiking conversion needs bias-free layers: "
                "rebuild it with bias=False and retrain"
            )
        if isinstance(module, nn.Conv2d):
            _check_conv(index, module)
            if flat or module.in_channels != shape[0]:
                raise BioSleepError(f"layer {index} ({module}) does not fit its {shape} input")
            connection = Conv(shape, tuple(module.weight.shape))
            structure.append((module, connection))
            shape = connection.out_shape
        elif isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)) or "Pool" in type(module).__name__:
            if flat:
                raise BioSleepError(f"layer {index} ({module}): pooling after flatten cannot be converted")
            connection = _pool(index, module, shape)
            structure.append((None, connection))
            shape = connection.out_shape
        elif isinstance(module, nn.Linear):
            flat = True
            if module.in_features != int(np.prod(shape)):
                raise BioSleepError(
                    f"layer {index} expects {module.in_features} inputs "
                    f"but the layer before gives {int(np.prod(shape))}"
                )
            structure.append((module, Dense(module.in_features, module.out_features)))
            shape = (module.out_features,)
        elif isinstance(module, nn.Flatten):
            flat = True
        elif not isinstance(module, PASSIVE):
            raise BioSleepError(
                f"layer {index} ({type(module).__name__}) is not supported by the spiking conversion; "
                "supported: Conv2d, MaxPool2d, AvgPool2d, Linear (all bias-free), ReLU, Dropout, Flatten"
            )
    return structure


def cnn_to_spiking_network(
    model: nn.Module,
    x_normalise: torch.Tensor,
    thresholds,
    alpha_scale: float,
    normalisation: str = "authors",
    image_shape=None,
) -> SpikingNetwork:
    """Convert the first ``len(thresholds)`` weight layers (with their pooling) of a trained CNN."""
    structure = cnn_structure(model, image_shape)
    weighted = [index for index, (module, _) in enumerate(structure) if module is not None]
    if not 1 <= len(thresholds) <= len(weighted):
        raise BioSleepError(
            f"{len(thresholds)} thresholds for a model with {len(weighted)} weight layers; "
            "give one per simulated weight layer (e.g. one per conv layer)"
        )
    if sum(c.kind == "conv" for _, c in structure) > len(thresholds):
        raise BioSleepError(
            f"{len(thresholds)} thresholds do not cover the model's conv layers; give at least one per conv layer"
        )
    if any(t <= 0 for t in thresholds):
        raise BioSleepError(f"thresholds must be > 0, got {list(thresholds)}")
    factors = layer_factors(model, x_normalise, normalisation)
    structure = structure[: weighted[len(thresholds) - 1] + 1]
    weights, alphas, layer_thresholds, connections, weight_index = [], [], [], [], 0
    for module, connection in structure:
        if module is None:
            # A pooling layer's fixed values. An average pool passes on the mean of its window's
            # rates in their own units, so the next factor (s of the layer before / s of the next)
            # needs no correction; see AvgPool.
            weights.append(None)
            alphas.append(connection.alpha)
            layer_thresholds.append(connection.threshold)
        else:
            weights.append(module.weight.detach().cpu().to(torch.float64).numpy().copy())
            alphas.append(factors[weight_index] * alpha_scale)
            layer_thresholds.append(float(thresholds[weight_index]))
            weight_index += 1
        connections.append(connection)
    return SpikingNetwork(tuple(weights), tuple(alphas), tuple(layer_thresholds), tuple(connections))


def conv_plasticity(network: SpikingNetwork) -> tuple[bool, ...]:
    """Only convolutions learn during SRC (Algorithm 1, Table II): pooling and the FC head are fixed."""
    return network.default_plasticity()
