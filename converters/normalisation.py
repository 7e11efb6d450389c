"""Data-based normalisation (Diehl et al. 2015): one scale factor per layer.

For each layer, ``s = max(largest positive weight, largest activation over the
data)`` (a plain maximum, as in the authors' code). Factors then chain:

- ``diehl`` (the textbook rule): ``factor[l] = s[l-1] / s[l]`` with ``s[-1] = 1``.
- ``authors`` (their code, inherited from Diehl's): ``factor[l] = prev / s[l]``
  followed by ``prev = s[l] / prev``; it equals the textbook rule for the first
  two layers and differs beyond. The maxima are those of the authors'
  DeepLearnToolbox network, which uses non-inverted dropout: in testing mode
  each activation followed by dropout p is multiplied by ``(1 - p)``, and its
  weights are the inverted-dropout torch weights divided by the ``(1 - p)`` of
  the dropout before them. The factors are returned in torch units (they
  multiply ``W_torch @ spikes``), so they drive the layer exactly as the
  authors' factor drives their raw weights: ``1 / (1 - p)`` more per layer
  than ``authors_eval_mode`` when every hidden layer has dropout p.
- ``authors_eval_mode``: the authors' chaining on the torch eval-mode maxima
  (no dropout correction); equal to ``authors`` for a network without dropout.

The factor multiplies the impulse ``W @ spikes`` into layer l; the weights
themselves are never rescaled (sleep modifies and returns the originals).
"""

from __future__ import annotations

import torch
from torch import nn

from bio_sleep.errors import BioSleepError
from bio_sleep.models.fc import weight_layers

METHODS = ("authors", "authors_eval_mode", "diehl")


@torch.no_grad()
def activation_maxima(model: nn.Module, x: torch.Tensor, batch_size: int = 1000) -> list[float]:
    """Per weight layer (Linear or Conv2d), the largest post-ReLU activation on ``x`` in torch eval mode.

    Max pooling passes the largest activation through unchanged, so pooling
    layers need no factor of their own. Average pooling is linear with gain 1:
    its spiking units fire at the mean of their window's rates, in the units of
    the layer before, so it needs none either; the activations of the layer
    after it are measured here on the averaged maps, as the ANN computes them.
    """
    activation_max = [0.0] * len(weight_layers(model))
    model.eval()  # torch dropout is inverted: eval mode is the identity, unlike the authors' (1 - p) scaling
    device = next(model.parameters()).device  # a model on the GPU normalises there
    for start in range(0, len(x), batch_size):
        activations = x[start : start + batch_size].to(device)
        index = 0
        for module in model:
            activations = module(activations)
            if isinstance(module, (nn.Linear, nn.Conv2d)):
                activation_max[index] = max(activation_max[index], float(activations.clamp(min=0).max()))
                index += 1
    for index, act_max in enumerate(activation_max):
        if act_max <= 0.0:
            raise BioSleepError(
                f"layer {index + 1} never activates on the normalisation data (all activations <= 0): "
                "the network is dead there, so no spikes can reach it during sleep; retrain it or check its inputs"
            )
    return activation_max


def dropout_keeps(model: nn.Module) -> list[float]:
    """Per weight layer, the product of ``(1 - p)`` over the dropout layers between it and the next weight layer."""
    keeps = []
    for module in model:
        if isinstance(module, (nn.Linear, nn.Conv2d)):
            keeps.append(1.0)
        elif isinstance(module, nn.Dropout) and keeps:
            keeps[-1] *= 1.0 - module.p
    return keeps


@torch.no_grad()
def layer_maxima(
    model: nn.Module, x: torch.Tensor, batch_size: int = 1000, *, non_inverted_dropout: bool = False
) -> list[float]:
    """Per weight layer, max(largest positive weight, largest activation on ``x``).

    With ``non_inverted_dropout`` these are the maxima of the authors' equivalent
    network (activations times the keep of their dropout, weights divided by the
    keep of the dropout before them); otherwise those of the torch network in eval mode.
    """
    activations = activation_maxima(model, x, batch_size)
    keeps = dropout_keeps(model) if non_inverted_dropout else [1.0] * len(activations)
    maxima, keep_before = [], 1.0
    for layer, act_max, keep in zip(weight_layers(model), activations, keeps):
        maxima.append(max(float(layer.weight.max().clamp(min=0)) / keep_before, act_max * keep))
        keep_before = keep
    return maxima


def layer_factors(model: nn.Module, x: torch.Tensor, method: str = "authors") -> list[float]:
    """The normalisation factor of each weight layer in torch units, by ``method`` (one of ``METHODS``)."""
    if method not in METHODS:
        raise BioSleepError(f"unknown normalisation '{method}'; use one of {list(METHODS)}")
    authors = method == "authors"
    maxima = layer_maxima(model, x, non_inverted_dropout=authors)
    # The authors' factor multiplies their weights, which are the torch ones / keep of the dropout before.
    keeps_before = [1.0] + dropout_keeps(model)[:-1] if authors else [1.0] * len(maxima)
    factors, previous = [], 1.0
    for scale, keep_before in zip(maxima, keeps_before):
        factors.append(previous / scale / keep_before)
        previous = scale / previous if method != "diehl" else scale
    return factors
