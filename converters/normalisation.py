"""Data-based normalisation (Diehl et al. 2015): one scale factor per layer.

For each layer, ``s = max(largest positive weight, largest activation over the
data)`` (a plain maximum, as in the authors' code). Factors then chain:

- ``diehl`` (the textbook rule): ``factor[l] = s[l-1] / s[l]`` with ``s[-1] = 1``.
- ``authors`` (their code, inherited from Diehl's): ``factor[l] = prev / s[l]``
  followed by ``prev = s[l] / prev``; it equals the textbook rule for the first
  two layers and differs beyond.

The factor multiplies the impulse ``W @ spikes`` into layer l; the weights
themselves are never rescaled (sleep modifies and returns the originals).
"""
from __future__ import annotations

import torch
from torch import nn

from bio_sleep.errors import BioSleepError
from bio_sleep.models.fc import weight_layers


@torch.no_grad()
def layer_maxima(model: nn.Module, x: torch.Tensor, batch_size: int = 1000) -> list[float]:
    """Per weight layer (Linear or Conv2d), max(largest positive weight, largest post-ReLU activation on ``x``).

    Max pooling passes the largest activation through unchanged, so pooling
    layers need no factor of their own. Average pooling is linear with gain 1:
    its spiking units fire at the mean of their window's rates, in the units of
    the layer before, so it needs none either; the activations of the layer
    after it are measured here on the averaged maps, as the ANN computes them.
    """
    linears = weight_layers(model)
    activation_max = [0.0] * len(linears)
    model.eval()  # torch dropout is inverted: eval activations are the (1 - p)-scaled ones of the authors' code
    for start in range(0, len(x), batch_size):
        activations = x[start:start + batch_size]
        index = 0
        for module in model:
            activations = module(activations)
            if isinstance(module, (nn.Linear, nn.Conv2d)):
                activation_max[index] = max(activation_max[index], float(activations.clamp(min=0).max()))
                index += 1
    maxima = []
    for index, (layer, act_max) in enumerate(zip(linears, activation_max)):
        if act_max <= 0.0:
            raise BioSleepError(
                f"layer {index + 1} never activates on the normalisation data (all activations <= 0): "
                "the network is dead there, so no spikes can reach it during sleep; retrain it or check its inputs")
        maxima.append(max(float(layer.weight.max().clamp(min=0)), act_max))
    return maxima


def layer_factors(model: nn.Module, x: torch.Tensor, method: str = "authors") -> list[float]:
    """The normalisation factor of each weight layer, by ``method`` ("authors" or "diehl")."""
    maxima = layer_maxima(model, x)
    factors, previous = [], 1.0
    for scale in maxima:
        factors.append(previous / scale)
        previous = scale / previous if method == "authors" else scale
    return factors
