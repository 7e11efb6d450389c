"""torch -> spiking conversion: validation, normalisation, writing weights back."""
import numpy as np
import pytest
import torch
from torch import nn

from bio_sleep.converters import layer_factors, to_spiking_network, to_torch
from bio_sleep.errors import BioSleepError
from bio_sleep.models import build_fc


def simple_model():
    torch.manual_seed(0)
    return build_fc([6, 5, 4, 3], output="relu", init="uniform", init_range=0.5)


@pytest.mark.parametrize("model, message", [
    (nn.Sequential(nn.Linear(4, 3)), "has a bias"),
    (nn.Sequential(nn.Conv2d(1, 2, 3, bias=False)), "not supported"),
    (nn.Sequential(nn.Linear(4, 3, bias=False), nn.Sigmoid()), "not supported"),
    (nn.Linear(4, 3, bias=False), "nn.Sequential"),
    (nn.Sequential(nn.ReLU()), "no Linear layer"),
])
def test_unsupported_models_are_refused(model, message):
    with pytest.raises(BioSleepError, match=message):
        to_spiking_network(model, torch.rand(8, 4), [1.0] * 3, 1.0)


def test_non_finite_weight_is_refused():
    model = simple_model()
    with torch.no_grad():
        model[0].weight[0, 0] = float("nan")
    with pytest.raises(BioSleepError, match="NaN or infinite"):
        to_spiking_network(model, torch.rand(8, 6), [1.0] * 3, 1.0)


def test_dead_layer_is_refused():
    model = simple_model()
    with torch.no_grad():
        model[2].weight.fill_(-1.0)
    with pytest.raises(BioSleepError, match="layer 2 never activates"):
        to_spiking_network(model, torch.rand(8, 6), [1.0] * 3, 1.0)


def test_threshold_count_and_sign_are_checked():
    with pytest.raises(BioSleepError, match="one per layer"):
        to_spiking_network(simple_model(), torch.rand(8, 6), [1.0], 1.0)
    with pytest.raises(BioSleepError, match="> 0"):
        to_spiking_network(simple_model(), torch.rand(8, 6), [1.0, -1.0, 1.0], 1.0)


def test_normalisation_factors_follow_both_rules():
    model, x = simple_model(), torch.rand(50, 6)
    from bio_sleep.converters.normalisation import layer_maxima

    s1, s2, s3 = layer_maxima(model, x)
    np.testing.assert_allclose(layer_factors(model, x, "diehl"), [1 / s1, s1 / s2, s2 / s3])
    np.testing.assert_allclose(layer_factors(model, x, "authors"), [1 / s1, s1 / s2, (s2 / s1) / s3])


def test_spiking_network_copies_weights_and_scales_alphas():
    model, x = simple_model(), torch.rand(50, 6)
    network = to_spiking_network(model, x, [1.0, 2.0, 3.0], alpha_scale=2.5)
    np.testing.assert_allclose(network.alphas, np.array(layer_factors(model, x)) * 2.5)
    network.weights[0][:] = 0.0
    assert model[0].weight.abs().sum() > 0, "the model must not share memory with the spiking copy"


def test_to_torch_returns_a_copy_with_new_weights():
    model = simple_model()
    original = [p.detach().clone() for p in model.parameters()]
    network = to_spiking_network(model, torch.rand(20, 6), [1.0] * 3, 1.0)
    slept = to_torch(model, network.with_weights([w + 1.0 for w in network.weights]))
    for before, after, kept in zip(original, slept.parameters(), model.parameters()):
        torch.testing.assert_close(after.detach(), before + 1.0)
        torch.testing.assert_close(kept.detach(), before)
