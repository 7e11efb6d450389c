"""SpikingNetwork weights -> a copy of the torch model."""

from __future__ import annotations

import copy

import torch
from torch import nn

from bio_sleep.converters.chain import as_sequential
from bio_sleep.converters.spiking_network import SpikingNetwork
from bio_sleep.models.fc import weight_layers


def to_torch(model: nn.Module, network: SpikingNetwork) -> nn.Module:
    """A copy of ``model`` carrying the slept weights (pooling layers have none); ``model`` itself is untouched.

    The weights go to the weight layers in the order ``forward`` uses them (``as_sequential``), which for a
    model that is not an ``nn.Sequential`` may differ from the order its submodules were declared in.
    Fewer weights than layers is allowed (a sleep that simulated only the convolutional layers).
    """
    clone = copy.deepcopy(model)
    layers = weight_layers(as_sequential(clone))  # the clone's own modules
    weights = [w for w in network.weights if w is not None]
    if len(weights) > len(layers):
        raise ValueError(f"{len(weights)} weight arrays for a model with {len(layers)} weight layers")
    with torch.no_grad():
        for layer, weight in zip(layers, weights):
            layer.weight.copy_(torch.as_tensor(weight, dtype=layer.weight.dtype))
    return clone
