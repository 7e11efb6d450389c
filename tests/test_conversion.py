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


@pytest.mark.parametrize(
    "model, message",
    [
        (nn.Sequential(nn.Linear(4, 3)), "has a bias"),
        (nn.Sequential(nn.Conv2d(1, 2, 3, bias=False)), "not supported"),
        (nn.Sequential(nn.Linear(4, 3, bias=False), nn.Sigmoid()), "not supported"),
        (nn.Linear(4, 3, bias=False), "nn.Sequential"),
        (nn.Sequential(nn.ReLU()), "no Linear layer"),
    ],
)
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


def test_authors_normalisation_uses_their_non_inverted_dropout_network():
    # 2-2-1-1 with dropout 0.5 after both hidden layers, computed by hand. Torch eval activations on the two
    # inputs: h1 = [2, 0.5] and [0, 0.5], h2 = 1.5*2 + 0.2*0.5 = 3.1, out = 0.6*3.1 = 1.86.
    model = nn.Sequential(
        nn.Linear(2, 2, bias=False),
        nn.ReLU(),
        nn.Dropout(0.5),
        nn.Linear(2, 1, bias=False),
        nn.ReLU(),
        nn.Dropout(0.5),
        nn.Linear(1, 1, bias=False),
        nn.ReLU(),
    )
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([[2.0, -1.0], [0.5, 0.5]]))
        model[3].weight.copy_(torch.tensor([[1.5, 0.2]]))
        model[6].weight.copy_(torch.tensor([[0.6]]))
    x = torch.eye(2)
    # Eval mode: s = [max(2, 2), max(1.5, 3.1), max(0.6, 1.86)].
    np.testing.assert_allclose(layer_factors(model, x, "authors_eval_mode"), [1 / 2, 2 / 3.1, (3.1 / 2) / 1.86])
    # The authors' network: activations x (1 - p), weights after a dropout / (1 - p):
    # s = [max(2, 0.5*2), max(1.5/0.5, 0.5*3.1), max(0.6/0.5, 1.86)] = [2, 3, 1.86]; their factors
    # [1/2, 2/3, (3/2)/1.86] multiply their weights, i.e. the torch weights / 0.5 after the first layer.
    np.testing.assert_allclose(layer_factors(model, x, "authors"), [1 / 2, (2 / 3) / 0.5, (1.5 / 1.86) / 0.5])


def test_authors_normalisation_of_a_cnn_with_dropout():
    # Conv 1x1 (w = 2) -> ReLU -> Dropout(0.5) -> Linear (w = 1.5) on one 1x1 image of value 1: h1 = 2, out = 3.
    model = nn.Sequential(
        nn.Conv2d(1, 1, 1, bias=False), nn.ReLU(), nn.Dropout(0.5), nn.Flatten(), nn.Linear(1, 1, bias=False)
    )
    with torch.no_grad():
        model[0].weight.fill_(2.0)
        model[4].weight.fill_(1.5)
    x = torch.ones(1, 1, 1, 1)
    np.testing.assert_allclose(layer_factors(model, x, "authors_eval_mode"), [1 / 2, 2 / 3])
    # Theirs: s = [max(2, 0.5*2), max(1.5/0.5, 3)] = [2, 3], factors [1/2, 2/3] on weights / 0.5 after the dropout.
    np.testing.assert_allclose(layer_factors(model, x, "authors"), [1 / 2, (2 / 3) / 0.5])


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
