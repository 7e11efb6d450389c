"""torch model -> SpikingNetwork (weights, per-layer scales, thresholds)."""

from __future__ import annotations

import torch
from torch import nn

from bio_sleep.converters.normalisation import layer_factors
from bio_sleep.converters.spiking_network import SpikingNetwork
from bio_sleep.errors import BioSleepError

# Layers with no weights that the spiking conversion reproduces or ignores:
# ReLU is the integrate-and-fire neuron itself; dropout is off during sleep.
PASSIVE_LAYERS = (nn.ReLU, nn.Dropout, nn.Identity, nn.Flatten)


def validate_model(model: nn.Module) -> list[nn.Linear]:
    """Check that ``model`` is a bias-free sequence of Linear / ReLU layers; return its Linear layers."""
    if not isinstance(model, nn.Sequential):
        raise BioSleepError(
            f"sleep needs an nn.Sequential of Linear and ReLU layers, got {type(model).__name__}; "
            "rebuild the model as nn.Sequential (see bio_sleep.models.build_fc)"
        )
    linears = []
    for index, module in enumerate(model):
        if isinstance(module, nn.Linear):
            if module.bias is not None:
                raise BioSleepError(
                    f"layer {index} ({module}) has a bias; the spiking conversion needs bias-free layers: "
                    "build it with nn.Linear(..., bias=False) and retrain"
                )
            if not torch.isfinite(module.weight).all():
                raise BioSleepError(f"layer {index} ({module}) has NaN or infinite weights; retrain the network")
            if linears and module.in_features != linears[-1].out_features:
                raise BioSleepError(
                    f"layer {index} expects {module.in_features} inputs "
                    f"but the layer before gives {linears[-1].out_features}"
                )
            linears.append(module)
        elif not isinstance(module, PASSIVE_LAYERS):
            raise BioSleepError(
                f"layer {index} ({type(module).__name__}) is not supported by the fully connected sleep; "
                "supported: Linear(bias=False), ReLU, Dropout, Flatten, Identity"
            )
    if not linears:
        raise BioSleepError("the model has no Linear layer: nothing to sleep on")
    return linears


def to_spiking_network(
    model: nn.Module, x_normalise: torch.Tensor, thresholds, alpha_scale: float, normalisation: str = "authors"
) -> SpikingNetwork:
    """Convert a trained bias-free ReLU network: copies of its weights (float64) and per-layer scales."""
    linears = validate_model(model)
    if len(thresholds) != len(linears):
        raise BioSleepError(f"{len(thresholds)} thresholds given for {len(linears)} weight layers; give one per layer")
    if any(t <= 0 for t in thresholds):
        raise BioSleepError(f"thresholds must be > 0, got {list(thresholds)}")
    factors = layer_factors(model, x_normalise, normalisation)
    weights = tuple(layer.weight.detach().cpu().to(torch.float64).numpy().copy() for layer in linears)
    return SpikingNetwork(weights, tuple(f * alpha_scale for f in factors), tuple(float(t) for t in thresholds))
