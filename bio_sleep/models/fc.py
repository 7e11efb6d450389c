"""Bias-free fully connected ReLU networks (the ICLR 2020 paper's models)."""

from __future__ import annotations

import math

from torch import nn


def build_fc(
    widths: list[int], dropout: float = 0.0, output: str = "relu", init: str = "torch_default", init_range: float = 0.01
) -> nn.Sequential:
    """``Linear(bias=False) -> ReLU [-> Dropout]`` per hidden layer, then the output layer.

    ``output = "relu"`` ends in a ReLU (the authors' MSE set-up); ``"linear"``
    returns logits. ``init`` is one of :func:`initialise`'s; call
    ``torch.manual_seed`` first for reproducibility.
    """
    layers: list[nn.Module] = []
    for index, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:])):
        linear = nn.Linear(n_in, n_out, bias=False)
        initialise(linear, init, init_range)
        layers.append(linear)
        is_last = index == len(widths) - 2
        if not is_last or output == "relu":
            layers.append(nn.ReLU())
        if not is_last and dropout > 0:
            layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


def initialise(layer: nn.Module, init: str, init_range: float = 0.01) -> None:
    """Draw a layer's weights in place.

    ``"uniform"``: U(-init_range, init_range), what the authors' MNIST scripts set after ``nnsetup``;
    ``"deeplearntoolbox"``: U(-r, r) with r = 4 sqrt(6 / (fan_in + fan_out)), DeepLearnToolbox's own ``nnsetup``
    default; ``"torch_default"``: the layer's ``reset_parameters``.
    """
    if init == "uniform":
        nn.init.uniform_(layer.weight, -init_range, init_range)
    elif init == "deeplearntoolbox":
        fan_in, fan_out = nn.init._calculate_fan_in_and_fan_out(layer.weight)
        r = 4 * math.sqrt(6 / (fan_in + fan_out))
        nn.init.uniform_(layer.weight, -r, r)
    else:
        layer.reset_parameters()


def weight_layers(model: nn.Module) -> list[nn.Module]:
    """The layers with weights (Linear and Conv2d), in order."""
    return [module for module in model.modules() if isinstance(module, (nn.Linear, nn.Conv2d))]
