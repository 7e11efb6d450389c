"""CNN models from layer specs and the errors of the spiking conversion."""
import pytest
import torch
from torch import nn

from bio_sleep.converters.to_spiking_cnn import cnn_to_spiking_network, conv_plasticity
from bio_sleep.converters.spiking_network import Conv, Pool
from bio_sleep.errors import BioSleepError
from bio_sleep.models.cnn import build_cnn, paper_layers


@pytest.mark.parametrize("dataset, shape, flat, params", [
    ("mnist", (1, 28, 28), 500, 1 * 10 * 9 + 10 * 20 * 9 + 500 * 64 + 64 * 10),
    ("cifar10", (3, 32, 32), 1800, 3 * 50 * 9 + 50 * 50 * 9 + 1800 * 1200 + 1200 * 10),
])
def test_paper_models_follow_table_one(dataset, shape, flat, params):
    model = build_cnn(paper_layers(dataset), shape)
    linears = [m for m in model if isinstance(m, nn.Linear)]
    assert linears[0].in_features == flat
    assert sum(p.numel() for p in model.parameters()) == params
    assert all(getattr(m, "bias", None) is None for m in model)
    assert model(torch.rand(2, shape[0] * shape[1] * shape[2])).shape == (2, 10)


@pytest.mark.parametrize("spec, words", [
    ({"type": "conv", "out_channels": 4, "kernel_size": 3, "padding": 1}, "padding"),
    ({"type": "conv", "out_channels": 4, "kernel_size": 3, "stride": 2}, "stride"),
    ({"type": "conv", "out_channels": 4, "kernel_size": 3, "dilation": 2}, "dilation"),
    ({"type": "conv", "out_channels": 4, "kernel_size": 3, "groups": 2}, "groups"),
    ({"type": "conv", "out_channels": 4, "kernel_size": 3, "bias": True}, "bias"),
    ({"type": "maxpool", "size": 3, "stride": 2}, "non-overlapping"),
    ({"type": "upsample"}, "unknown type"),
])
def test_builder_rejects_what_cannot_be_unrolled(spec, words):
    with pytest.raises(BioSleepError, match=words):
        build_cnn([spec, {"type": "flatten"}, {"type": "linear", "out_features": 2}], (1, 8, 8))


def _torch_model(conv: nn.Module, pool: nn.Module = nn.MaxPool2d(2)) -> nn.Sequential:
    return nn.Sequential(nn.Unflatten(1, (1, 8, 8)), conv, nn.ReLU(), pool, nn.Flatten(), nn.Linear(36, 3, bias=False))


@pytest.mark.parametrize("model, words", [
    (_torch_model(nn.Conv2d(1, 4, 3, padding=1, bias=False)), "padding"),
    (_torch_model(nn.Conv2d(1, 4, 3, stride=2, bias=False)), "stride"),
    (_torch_model(nn.Conv2d(1, 4, 3, dilation=2, bias=False)), "dilation"),
    (_torch_model(nn.Conv2d(1, 4, 3, bias=True)), "bias"),
    (_torch_model(nn.Conv2d(1, 4, 3, bias=False), nn.AvgPool2d(2)), "average pooling"),
    (_torch_model(nn.Conv2d(1, 4, 3, bias=False), nn.MaxPool2d(3, stride=2)), "non-overlapping"),
    (_torch_model(nn.Conv2d(1, 4, 3, bias=False), nn.AdaptiveMaxPool2d(3)), "cannot be converted"),
])
def test_conversion_rejects_unsupported_torch_layers(model, words):
    with pytest.raises(BioSleepError, match=words):
        cnn_to_spiking_network(model, torch.rand(4, 64), [1.0], 1.0, image_shape=(1, 8, 8))


def test_conversion_simulates_only_layers_with_thresholds():
    torch.manual_seed(0)
    model = build_cnn(paper_layers("mnist"), (1, 28, 28))
    x = torch.rand(32, 784)
    network = cnn_to_spiking_network(model, x, [4.15, 9.47], 2.78, image_shape=(1, 28, 28))
    assert [type(c) for c in network.connections] == [Conv, Pool, Conv]   # trailing pool and FC head left out
    assert network.sizes == (784, 10 * 26 * 26, 10 * 13 * 13, 20 * 11 * 11)
    assert conv_plasticity(network) == (True, False, True)
    assert network.thresholds == (4.15, Pool.threshold, 9.47)
    full = cnn_to_spiking_network(model, x, [4.15, 9.47, 1.0, 1.0], 2.78, image_shape=(1, 28, 28))
    assert full.sizes[-3:] == (500, 64, 10) and conv_plasticity(full)[-2:] == (False, False)
    with pytest.raises(BioSleepError, match="conv layers"):
        cnn_to_spiking_network(model, x, [4.15], 2.78, image_shape=(1, 28, 28))
