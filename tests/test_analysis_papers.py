"""The papers' analyses on small models whose answers are known."""

import numpy as np
import pytest
import torch
from torch import nn

from bio_sleep.analysis import attention, conv_filters, patches_weights, representations
from bio_sleep.data.patches import patch_images
from bio_sleep.errors import BioSleepError
from bio_sleep.models import build_fc


def _patches_model(on: float, off: float):
    prototypes = patch_images(0)
    roles = patches_weights.pixel_roles(prototypes)
    model = build_fc([100, 4])
    with torch.no_grad():
        model[0].weight.copy_(torch.from_numpy(np.select([roles == 2, roles == 0], [on, off], 0.0)))
    return model, prototypes


def test_patches_roles_spread_and_plots(tmp_path):
    model, prototypes = _patches_model(on=0.5, off=-0.25)
    roles = patches_weights.pixel_roles(prototypes)
    assert [(roles[0] == k).sum() for k in range(3)] == [75, 8, 17]  # class 0 shares 3+3+2 pixels
    control, _ = _patches_model(on=0.5, off=0.0)
    spread = patches_weights.weight_spread({"control": control, "sleep": model}, prototypes)
    np.testing.assert_allclose(spread.sel(network="control"), 0.5)
    np.testing.assert_allclose(spread.sel(network="sleep"), 0.75)
    patches_weights.plot_patches_weights({"control": control, "sleep": model}, prototypes, tmp_path / "w.png")
    patches_weights.plot_weight_spread(spread, tmp_path / "s.png")
    assert (tmp_path / "w.png").stat().st_size > 0 and (tmp_path / "s.png").stat().st_size > 0
    with pytest.raises(BioSleepError, match="one weight layer"):
        patches_weights.weight_spread({"deep": build_fc([100, 8, 4])}, prototypes)


def _identity_net(scale=1.0):
    model = nn.Sequential(nn.Linear(4, 4, bias=False), nn.ReLU())
    with torch.no_grad():
        model[0].weight.copy_(torch.eye(4) * scale)
    return model


def test_class_correlations_of_one_hot_codes(tmp_path):
    y = torch.arange(4).repeat(5)
    x = torch.eye(4)[y]
    table = representations.class_correlations(_identity_net(), x, y, 4)
    assert table.sizes == {"layer": 1, "class_a": 4, "class_b": 4}
    expected = np.full((4, 4), -1 / 3) + np.eye(4) * (4 / 3)  # same code 1, two different one-hots -1/3
    np.testing.assert_allclose(table.sel(layer=1), expected, atol=1e-12)
    mixing = nn.Sequential(nn.Linear(4, 4, bias=False), nn.ReLU())
    with torch.no_grad():
        mixing[0].weight.copy_(torch.eye(4) + torch.diag(torch.ones(3), 1))  # class k+1 also drives unit k
    data = representations.correlation_differences(
        {"control": _identity_net(), "scaled": _identity_net(3.0), "mixing": mixing},
        "control",
        {"clean": x, "noisy": x + 0.01},
        y,
        4,
    )
    np.testing.assert_allclose(data["difference_to_control"].sel(network="scaled"), 0.0, atol=1e-9)
    assert np.abs(data["difference_to_control"].sel(network="mixing", condition="clean")).max() > 0.1
    representations.plot_correlation_differences(data, "noisy", tmp_path / "c.png")
    with pytest.raises(BioSleepError, match="at least 2 samples"):
        representations.class_correlations(_identity_net(), x[:4], y[:4], 4)


def test_digit_specific_activations_follow_the_selected_neurons():
    y = torch.arange(4).repeat(3)
    x = torch.eye(4)[y] + 0.1
    before = nn.Sequential(nn.Linear(4, 6, bias=False), nn.ReLU())
    with torch.no_grad():
        before[0].weight.copy_(torch.rand(6, 4, generator=torch.Generator().manual_seed(0)))
    same = representations.digit_specific_activations(before, before, x, y, 4, top_k=2)
    np.testing.assert_allclose(same.sel(network="before"), same.sel(network="after"))
    assert np.all((same.values > 0) & (same.values <= 1))
    with pytest.raises(BioSleepError, match="exceeds the 6 neurons"):
        representations.digit_specific_activations(before, before, x, y, 4, top_k=7)


def _conv_model(slope: float):
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1, bias=False), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 36, 3))
    with torch.no_grad():
        model[0].weight.copy_(slope * torch.arange(3.0).expand(2, 1, 3, 3))  # a ramp along columns
    return model


def test_spatial_gradient_statistics_and_kl():
    stats = conv_filters.gradient_statistics(_conv_model(0.2))
    # d/dcol = 0.2 everywhere, d/drow = 0: half the values 0.2, half 0
    np.testing.assert_allclose(stats["gradient_mean"], 0.1)
    np.testing.assert_allclose(stats["gradient_variance"], 0.01)
    same = conv_filters.gradient_kl(_conv_model(0.2), _conv_model(0.2))
    np.testing.assert_allclose(same["kl_fitted_gaussians"], 0.0, atol=1e-12)
    np.testing.assert_allclose(same["kl_histograms"], 0.0, atol=1e-9)
    assert conv_filters.gaussian_kl(0.0, 1.0, 1.0, 1.0) == pytest.approx(0.5)
    assert conv_filters.gradient_kl(_conv_model(0.2), _conv_model(0.4))["kl_fitted_gaussians"].item() > 0.1
    with pytest.raises(BioSleepError, match="no torch.nn.Conv2d"):
        conv_filters.gradient_statistics(build_fc([4, 2]))
    with pytest.raises(BioSleepError, match="1x1"):
        conv_filters.gradient_statistics(nn.Sequential(nn.Conv2d(1, 1, 1)))


def test_grad_cam_maps_and_overlap(tmp_path):
    torch.manual_seed(0)
    model = _conv_model(0.2)
    inputs = torch.zeros(4, 1, 6, 6)
    inputs[:, :, 1:4, 1:4] = 1.0
    maps = attention.attention_maps(model, model[0], inputs)
    assert (
        maps.shape == (4, 6, 6) and maps.min() >= 0 and torch.allclose(maps.flatten(1).max(dim=1).values, torch.ones(4))
    )
    mask = (inputs[:, 0] > 0).double()
    np.testing.assert_allclose(attention.attention_overlap(mask, inputs), 1.0)
    np.testing.assert_allclose(attention.attention_overlap(1.0 - mask, inputs), 0.0, atol=1e-12)
    scores = attention.attention_overlap(maps, inputs)
    assert scores.shape == (4,) and np.all((scores >= 0) & (scores <= 1))
    attention.plot_attention(inputs, {"baseline": maps}, tmp_path / "cam.png")
    with pytest.raises(BioSleepError, match="image batches"):
        attention.attention_maps(model, model[0], inputs.flatten(1))


def test_digit_specific_spike_rates_in_the_spiking_network():
    from bio_sleep.analysis.spiking_responses import digit_specific_spike_rates
    from bio_sleep.converters import SleepDynamics, SpikingNetwork

    # two inputs, two hidden neurons wired one-to-one: class c drives neuron c only
    before = SpikingNetwork((np.eye(2), np.eye(2)), (1.0, 1.0), (0.5, 0.5))
    stronger = SpikingNetwork((np.array([[1.0, 0.0], [0.0, 0.3]]), np.eye(2)), (1.0, 1.0), (0.5, 0.5))
    x = np.eye(2).repeat(3, axis=0)
    y = np.array([0, 0, 0, 1, 1, 1])
    dynamics = SleepDynamics(decay=0.0 + 1e-9, inc=0.0, dec=0.0)
    values = digit_specific_spike_rates(before, stronger, dynamics, x, y, 2, top_k=1, steps_per_image=50, scale=0.5)
    # class 0 is unchanged, class 1's neuron no longer reaches threshold after the change
    assert values.sel(network="before", **{"class": 1}) > 0.5
    assert values.sel(network="after", **{"class": 1}) == 0.0
    with pytest.raises(BioSleepError, match="exceeds the 2 neurons"):
        digit_specific_spike_rates(before, before, dynamics, x, y, 2, top_k=3)
