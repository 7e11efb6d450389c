"""Bias-free convolutional networks (the CNN paper's Table I models and any such stack).

A model is a list of layer specs, each a small dict (TOML-friendly):

    {type = "conv", out_channels = 10, kernel_size = 3}
    {type = "relu"}   {type = "maxpool", size = 2}   {type = "avgpool", size = 2}
    {type = "flatten"}   {type = "linear", out_features = 64}   {type = "dropout", p = 0.5}

Convolutions are stride 1, no padding, no dilation, one group and no bias:
that is what the spiking unrolling represents exactly (every presynaptic unit
meets each postsynaptic unit through at most one kernel element). Asking for
anything else is an error here, before any training starts.
"""

from __future__ import annotations

from torch import nn

from bio_sleep.errors import BioSleepError

UNROLLABLE = {"stride": 1, "padding": 0, "dilation": 1, "groups": 1}
LAYER_KEYS = {
    "conv": {"out_channels", "kernel_size", *UNROLLABLE, "bias"},
    "linear": {"out_features", "bias"},
    "relu": set(),
    "flatten": set(),
    "maxpool": {"size", "stride", "padding"},
    "avgpool": {"size", "stride", "padding"},
    "dropout": {"p"},
}


def _check_spec(index: int, spec: dict) -> str:
    kind = spec.get("type")
    if kind not in LAYER_KEYS:
        raise BioSleepError(f"model layer {index}: unknown type {kind!r}; use one of {sorted(LAYER_KEYS)}")
    unknown = set(spec) - LAYER_KEYS[kind] - {"type"}
    if unknown:
        raise BioSleepError(
            f"model layer {index} ({kind}): unknown keys {sorted(unknown)}; allowed {sorted(LAYER_KEYS[kind])}"
        )
    if spec.get("bias", False):
        raise BioSleepError(
            f"model layer {index} ({kind}) asks for a bias; the spiking conversion needs bias-free layers: drop 'bias'"
        )
    if kind == "conv":
        for key, allowed in UNROLLABLE.items():
            if spec.get(key, allowed) != allowed:
                raise BioSleepError(
                    f"model layer {index} (conv): {key} = {spec[key]} is not supported by the spiking unrolling "
                    f"(only {key} = {allowed}); pad the images beforehand or use pooling to downsample"
                )
    if kind in ("maxpool", "avgpool"):
        size = spec.get("size", 2)
        if spec.get("stride", size) != size or spec.get("padding", 0) != 0:
            raise BioSleepError(
                f"model layer {index} ({kind}): only non-overlapping windows without padding "
                f"(stride = size = {size}, padding = 0) are supported"
            )
    return kind


def build_cnn(layers: list[dict], input_shape: tuple[int, int, int]) -> nn.Sequential:
    """An nn.Sequential from layer specs; channel and feature counts are inferred from ``input_shape`` (C, H, W)."""
    channels, height, width = input_shape
    features = None  # set after flatten
    # The data are flattened vectors everywhere else in the library; the model unflattens them itself.
    modules: list[nn.Module] = [nn.Unflatten(1, tuple(input_shape))]
    for index, spec in enumerate(layers):
        kind = _check_spec(index, spec)
        if kind == "conv":
            if features is not None:
                raise BioSleepError(f"model layer {index}: a conv layer after flatten; put convolutions first")
            size = spec["kernel_size"]
            if size > min(height, width):
                raise BioSleepError(f"model layer {index}: kernel {size} is larger than its {height}x{width} input")
            modules.append(nn.Conv2d(channels, spec["out_channels"], size, bias=False))
            channels, height, width = spec["out_channels"], height - size + 1, width - size + 1
        elif kind in ("maxpool", "avgpool"):
            size = spec.get("size", 2)
            if features is not None or size > min(height, width):
                raise BioSleepError(f"model layer {index}: {kind} of size {size} cannot follow a {height}x{width} map")
            modules.append((nn.MaxPool2d if kind == "maxpool" else nn.AvgPool2d)(size))
            height, width = height // size, width // size
        elif kind == "flatten":
            modules.append(nn.Flatten())
            features = channels * height * width
        elif kind == "linear":
            if features is None:
                raise BioSleepError(f"model layer {index}: a linear layer needs a flatten layer before it")
            modules.append(nn.Linear(features, spec["out_features"], bias=False))
            features = spec["out_features"]
        elif kind == "relu":
            modules.append(nn.ReLU())
        elif kind == "dropout":
            modules.append(nn.Dropout(spec.get("p", 0.5)))
    if not any(isinstance(m, nn.Conv2d) for m in modules):
        raise BioSleepError("the model has no conv layer; use bio_sleep.models.build_fc for fully connected networks")
    return nn.Sequential(*modules)


def paper_layers(dataset: str) -> list[dict]:
    """Table I: conv 1-10-20 + FC 500-64-10 (MNIST) or conv 3-50-50 + FC 1800-1200-10 (CIFAR-10)."""
    channels, hidden, dropout = {"mnist": ((10, 20), 64, 0.5), "cifar10": ((50, 50), 1200, 0.3)}[dataset]
    layers: list[dict] = []
    for out in channels:
        layers += [
            {"type": "conv", "out_channels": out, "kernel_size": 3},
            {"type": "relu"},
            {"type": "maxpool", "size": 2},
        ]
    return layers + [
        {"type": "flatten"},
        {"type": "linear", "out_features": hidden},
        {"type": "relu"},
        {"type": "dropout", "p": dropout},
        {"type": "linear", "out_features": 10},
    ]


def conv_layers(model: nn.Module) -> list[nn.Conv2d]:
    """The Conv2d layers of a model, in order."""
    return [m for m in model.modules() if isinstance(m, nn.Conv2d)]
