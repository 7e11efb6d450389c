"""CNN models from layer specs and the errors of the spiking conversion."""

import tomllib
import types
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from bio_sleep.converters.normalisation import layer_factors
from bio_sleep.converters.spiking_network import AvgPool, Conv, Dense, Pool
from bio_sleep.converters.to_spiking_cnn import cnn_to_spiking_network, conv_plasticity
from bio_sleep.errors import BioSleepError
from bio_sleep.models import train_control
from bio_sleep.models.cnn import build_cnn, conv_layers, paper_layers
from bio_sleep.sleep.run import sleep_model
from bio_sleep.src.config import src_config_from_dict


@pytest.mark.parametrize(
    "dataset, shape, flat, params",
    [
        ("mnist", (1, 28, 28), 500, 1 * 10 * 9 + 10 * 20 * 9 + 500 * 64 + 64 * 10),
        ("cifar10", (3, 32, 32), 1800, 3 * 50 * 9 + 50 * 50 * 9 + 1800 * 1200 + 1200 * 10),
    ],
)
def test_paper_models_follow_table_one(dataset, shape, flat, params):
    model = build_cnn(paper_layers(dataset), shape)
    linears = [m for m in model if isinstance(m, nn.Linear)]
    assert linears[0].in_features == flat
    assert sum(p.numel() for p in model.parameters()) == params
    assert all(getattr(m, "bias", None) is None for m in model)
    assert model(torch.rand(2, shape[0] * shape[1] * shape[2])).shape == (2, 10)


@pytest.mark.parametrize(
    "spec, words",
    [
        ({"type": "conv", "out_channels": 4, "kernel_size": 3, "padding": 1}, "padding"),
        ({"type": "conv", "out_channels": 4, "kernel_size": 3, "stride": 2}, "stride"),
        ({"type": "conv", "out_channels": 4, "kernel_size": 3, "dilation": 2}, "dilation"),
        ({"type": "conv", "out_channels": 4, "kernel_size": 3, "groups": 2}, "groups"),
        ({"type": "conv", "out_channels": 4, "kernel_size": 3, "bias": True}, "bias"),
        ({"type": "maxpool", "size": 3, "stride": 2}, "non-overlapping"),
        ({"type": "upsample"}, "unknown type"),
    ],
)
def test_builder_rejects_what_cannot_be_unrolled(spec, words):
    with pytest.raises(BioSleepError, match=words):
        build_cnn([spec, {"type": "flatten"}, {"type": "linear", "out_features": 2}], (1, 8, 8))


def _torch_model(conv: nn.Module, pool: nn.Module | None = None) -> nn.Sequential:
    pool = nn.MaxPool2d(2) if pool is None else pool
    return nn.Sequential(nn.Unflatten(1, (1, 8, 8)), conv, nn.ReLU(), pool, nn.Flatten(), nn.Linear(36, 3, bias=False))


@pytest.mark.parametrize(
    "model, words",
    [
        (_torch_model(nn.Conv2d(1, 4, 3, padding=1, bias=False)), "padding"),
        (_torch_model(nn.Conv2d(1, 4, 3, stride=2, bias=False)), "stride"),
        (_torch_model(nn.Conv2d(1, 4, 3, dilation=2, bias=False)), "dilation"),
        (_torch_model(nn.Conv2d(1, 4, 3, bias=True)), "bias"),
        (_torch_model(nn.Conv2d(1, 4, 3, bias=False), nn.MaxPool2d(3, stride=2)), "non-overlapping max"),
        (_torch_model(nn.Conv2d(1, 4, 3, bias=False), nn.AvgPool2d(3, stride=2)), "non-overlapping average"),
        (_torch_model(nn.Conv2d(1, 4, 3, bias=False), nn.AvgPool2d(2, padding=1)), "no padding"),
        (_torch_model(nn.Conv2d(1, 4, 3, bias=False), nn.AvgPool2d(2, ceil_mode=True)), "floor mode"),
        (_torch_model(nn.Conv2d(1, 4, 3, bias=False), nn.AvgPool2d(2, divisor_override=3)), "divisor_override"),
        (_torch_model(nn.Conv2d(1, 4, 3, bias=False), nn.AdaptiveAvgPool2d(3)), "cannot be converted"),
        (_torch_model(nn.Conv2d(1, 4, 3, bias=False), nn.AdaptiveMaxPool2d(3)), "cannot be converted"),
    ],
)
def test_conversion_rejects_unsupported_torch_layers(model, words):
    with pytest.raises(BioSleepError, match=words):
        cnn_to_spiking_network(model, torch.rand(4, 64), [1.0], 1.0, image_shape=(1, 8, 8))


def test_conversion_simulates_only_layers_with_thresholds():
    torch.manual_seed(0)
    model = build_cnn(paper_layers("mnist"), (1, 28, 28))
    x = torch.rand(32, 784)
    network = cnn_to_spiking_network(model, x, [4.15, 9.47], 2.78, image_shape=(1, 28, 28))
    assert [type(c) for c in network.connections] == [Conv, Pool, Conv]  # trailing pool and FC head left out
    assert network.sizes == (784, 10 * 26 * 26, 10 * 13 * 13, 20 * 11 * 11)
    assert conv_plasticity(network) == (True, False, True)
    assert network.thresholds == (4.15, Pool.threshold, 9.47)
    full = cnn_to_spiking_network(model, x, [4.15, 9.47, 1.0, 1.0], 2.78, image_shape=(1, 28, 28))
    assert full.sizes[-3:] == (500, 64, 10) and conv_plasticity(full)[-2:] == (False, False)
    with pytest.raises(BioSleepError, match="conv layers"):
        cnn_to_spiking_network(model, x, [4.15], 2.78, image_shape=(1, 28, 28))


AVG_LAYERS = [
    {"type": "conv", "out_channels": 3, "kernel_size": 3},
    {"type": "relu"},
    {"type": "avgpool", "size": 2},
    {"type": "conv", "out_channels": 4, "kernel_size": 2},
    {"type": "relu"},
    {"type": "avgpool", "size": 2},
    {"type": "flatten"},
    {"type": "linear", "out_features": 8},
    {"type": "relu"},
    {"type": "dropout", "p": 0.5},
    {"type": "linear", "out_features": 3},
]


def test_average_pooling_converts_to_fixed_averaging_units():
    torch.manual_seed(0)
    model = build_cnn(AVG_LAYERS, (1, 12, 12))  # 12 -> conv 10 -> avg 5 -> conv 4 -> avg 2 -> 16 -> 8 -> 3
    x = torch.rand(64, 144)
    network = cnn_to_spiking_network(model, x, [1.5, 2.5], 3.0, image_shape=(1, 12, 12))
    assert [type(c) for c in network.connections] == [Conv, AvgPool, Conv]
    assert network.sizes == (144, 3 * 10 * 10, 3 * 5 * 5, 4 * 4 * 4)
    assert conv_plasticity(network) == (True, False, True)
    assert network.thresholds == (1.5, 1 - 1 / 8, 2.5) and network.weights[1] is None
    # Averaging keeps the rate scale of the layer before: the conv layers' factors are the plain data-based ones.
    factors = layer_factors(model, x)
    assert network.alphas == (factors[0] * 3.0, 0.25, factors[1] * 3.0)
    full = cnn_to_spiking_network(model, x, [1.5, 2.5, 1.0, 1.0], 3.0, image_shape=(1, 12, 12))
    assert [type(c) for c in full.connections] == [Conv, AvgPool, Conv, AvgPool, Dense, Dense]
    assert full.sizes[-3:] == (16, 8, 3)


def _bars(n: int = 300) -> types.SimpleNamespace:
    """12x12 images of 3 classes: a bright horizontal bar in one of three bands, on noise."""
    generator = torch.Generator().manual_seed(0)
    y = torch.randint(0, 3, (n,), generator=generator)
    images = torch.rand(n, 1, 12, 12, generator=generator) * 0.3
    for c in range(3):
        images[y == c, :, 4 * c : 4 * c + 4, 2:10] += 0.6
    return types.SimpleNamespace(
        x_train=images.clamp(0, 1).reshape(n, -1), y_train=y, n_classes=3, image_shape=(1, 12, 12)
    )


@pytest.mark.filterwarnings("ignore")
def test_average_pooling_cnn_sleeps_end_to_end_and_brian2_agrees():
    """An SRC config (the MNIST Figure 2 one, Table II values) with an average-pooling model: train, convert,
    sleep on the torch reference and on Brian2 (cython), write back."""
    values = tomllib.loads((Path(__file__).parents[1] / "experiments" / "src_mnist_figure2.toml").read_text())
    values["model"] = {"input_shape": [1, 12, 12], "layers": AVG_LAYERS}
    values["training"].update(epochs=30, learning_rate=0.5)
    values["sleep"].update(backend="torch", steps=200, thresholds=[4.15, 3.0], record_spike_trains=True)
    config = src_config_from_dict(values)
    data = _bars()
    baseline = train_control(config, data, seed=0, progress=False)
    result = sleep_model(baseline, data.x_train, config.sleep, seed=0, image_shape=data.image_shape, progress=False)
    assert [type(c) for c in result.before.connections] == [Conv, AvgPool, Conv]
    counts = result.recording.spike_counts
    assert all(c.sum() > 0 for c in counts), "every simulated layer should fire"
    window_mean = F.avg_pool2d(torch.from_numpy(counts[1].reshape(1, 3, 10, 10)).double(), 2).reshape(-1).numpy()
    assert np.array_equal(counts[2], np.floor(window_mean))  # the pooled units fire at their windows' mean
    for before, after in zip(conv_layers(baseline), conv_layers(result.model)):
        assert not torch.equal(before.weight, after.weight)  # SRC changed both convolutions ...
    for index in (-4, -1):
        assert torch.equal(baseline[index].weight, result.model[index].weight)  # ... and not the FC head
    brian_config = config.sleep.model_copy(update={"backend": "brian2", "brian2_target": "cython"})
    brian = sleep_model(baseline, data.x_train, brian_config, seed=0, image_shape=data.image_shape, progress=False)
    assert np.array_equal(brian.recording.spikes_per_step, result.recording.spikes_per_step)
    for ours, theirs in zip(conv_layers(brian.model), conv_layers(result.model)):
        assert torch.equal(ours.weight, theirs.weight)
