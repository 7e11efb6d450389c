"""SpikingNetwork weights -> a copy of the torch model."""
from __future__ import annotations

from torch import nn

from bio_sleep.converters.spiking_network import SpikingNetwork
from bio_sleep.models.fc import copy_with_weights


def to_torch(model: nn.Module, network: SpikingNetwork) -> nn.Module:
    """A copy of ``model`` carrying the slept weights (pooling layers have none); ``model`` itself is untouched."""
    return copy_with_weights(model, [w for w in network.weights if w is not None])
