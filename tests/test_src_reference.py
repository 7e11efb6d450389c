"""The torch conv sleep step against independent formulas (F.conv2d, conv2d_weight)."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.nn.grad import conv2d_weight

from bio_sleep.converters.spiking_network import AvgPool, Conv, Pool, SleepDynamics, SpikingNetwork
from bio_sleep.converters.unrolling import gather_indices, synapse_list
from bio_sleep.sleep.reference import run_reference
from bio_sleep.sleep.reference_conv import Gather, gather_impulse, shared_stdp


def test_gather_indices_reproduce_conv2d_and_maxpool():
    rng = np.random.default_rng(0)
    conv = Conv((2, 7, 6), (3, 2, 3, 2))
    kernel = torch.from_numpy(rng.normal(size=conv.kernel_shape))
    spikes = torch.from_numpy(rng.random(2 * 7 * 6) < 0.4)
    pre, parameter = (torch.from_numpy(a) for a in gather_indices(conv))
    impulse = gather_impulse(spikes, Gather(pre, parameter, 3, conv), kernel.reshape(3, -1))
    expected = F.conv2d(spikes.double().reshape(1, 2, 7, 6), kernel).reshape(-1)
    torch.testing.assert_close(impulse, expected)
    pool = Pool((3, 5, 5), 2)
    pooled_in = torch.from_numpy(rng.random(75) < 0.2)
    pre, parameter = (torch.from_numpy(a) for a in gather_indices(pool))
    counts = gather_impulse(pooled_in, Gather(pre, parameter, 1, pool), torch.ones(1, 1, dtype=torch.float64))
    expected = F.max_pool2d(pooled_in.double().reshape(1, 3, 5, 5), 2).reshape(-1)
    assert torch.equal(counts > 0.5, expected > 0.5)
    pre_list, post_list, _ = synapse_list(conv)
    assert np.all(np.diff(pre_list) >= 0) and len(pre_list) == 3 * 5 * 5 * (2 * 3 * 2)


def test_average_pool_impulse_counts_window_spikes_on_both_paths():
    rng = np.random.default_rng(5)
    pool = AvgPool((3, 7, 7), 3)  # 7 // 3: the last row and column are left out, as in torch
    spikes = torch.from_numpy(rng.random(3 * 49) < 0.4)
    pre, parameter = (torch.from_numpy(a) for a in gather_indices(pool))
    expected = F.avg_pool2d(spikes.double().reshape(1, 3, 7, 7), 3, divisor_override=1).reshape(-1)
    for dtype in (torch.float64, torch.float32):  # the exact (cumsum) path and the fast one
        counts = gather_impulse(spikes, Gather(pre, parameter, 1, pool), torch.ones(1, 1, dtype=dtype))
        assert torch.equal(counts, expected.to(dtype))
    assert pool.alpha == 1 / 9 and pool.threshold == 1 - 1 / 18 and pool.decay == 1.0


@pytest.mark.parametrize("size", [2, 3])
@pytest.mark.parametrize("spike_condition", ["above", "at_or_above"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_average_pooled_unit_fires_at_its_windows_mean_rate(size, spike_condition, dtype):
    """The stated tolerance: a pooled unit's count is its window's mean count rounded down, i.e. within one
    spike of the mean over any run, whatever the conv layer's decay and rates."""
    rng = np.random.default_rng(size)
    conv = Conv((1, 9, 9), (3, 1, 3, 3))
    pool = AvgPool(conv.out_shape, size)
    kernel = rng.normal(0.2, 0.3, conv.kernel_shape)
    network = SpikingNetwork((kernel, None), (1.0, pool.alpha), (0.8, pool.threshold), (conv, pool))
    # Input rates from 0.02 to 0.6 across the image, so windows fire from sparsely to densely.
    raster = rng.random((600, 81)) < np.linspace(0.02, 0.6, 81)
    _, recording = run_reference(
        network,
        SleepDynamics(0.9, 0.0, 0.0, spike_condition=spike_condition),
        raster,
        plastic=(False, False),
        record_trains=True,
        dtype=dtype,
        progress=False,
    )
    conv_counts = torch.from_numpy(recording.spike_counts[1].reshape(1, *conv.out_shape)).double()
    window_mean = F.avg_pool2d(conv_counts, size).reshape(-1).numpy()
    pooled = recording.spike_counts[2]
    assert window_mean.max() > 2 * window_mean.min(), "the windows should span sparse to dense firing"
    assert np.array_equal(pooled, np.floor(window_mean + 1e-9))
    # And step by step: the running counts obey the same rule, so the pooled rate never lags by a spike.
    steps, units = recording.spike_trains[1]
    running = np.zeros((600, conv.out_shape[0] * conv.out_shape[1] * conv.out_shape[2]))
    running[steps, units] = 1
    running = torch.from_numpy(running.cumsum(0).reshape(600, *conv.out_shape))
    window_running = F.avg_pool2d(running, size, divisor_override=1).reshape(600, -1).numpy()
    pooled_running = np.zeros((600, len(pooled)))
    pooled_running[recording.spike_trains[2]] = 1
    assert np.array_equal(pooled_running.cumsum(0), window_running // (size * size))


def test_shared_stdp_sums_every_pair_of_a_kernel_element():
    rng = np.random.default_rng(1)
    conv = Conv((2, 6, 6), (4, 2, 3, 3))
    kernel = torch.from_numpy(rng.normal(size=conv.kernel_shape))
    pre_spiked = torch.from_numpy(rng.random(72) < 0.5)
    post_spiked = torch.from_numpy(rng.random(64) < 0.3)
    pre, parameter = (torch.from_numpy(a) for a in gather_indices(conv))
    updated = kernel.reshape(4, -1).clone()
    inc, dec = 0.01, 0.003
    shared_stdp(updated, pre_spiked, post_spiked, Gather(pre, parameter, 4, conv), SleepDynamics(1.0, inc, dec), None)
    pre_map = pre_spiked.double().reshape(1, 2, 6, 6)
    post_map = post_spiked.double().reshape(1, 4, 4, 4)
    together = conv2d_weight(pre_map, conv.kernel_shape, post_map)  # pairs where both spiked
    post_alone = conv2d_weight(1 - pre_map, conv.kernel_shape, post_map)  # post spiked, pre silent
    torch.testing.assert_close(updated.reshape(conv.kernel_shape), kernel + inc * together - dec * post_alone)


def test_pooling_and_dense_head_stay_fixed_during_sleep():
    rng = np.random.default_rng(2)
    conv = Conv((1, 6, 6), (2, 1, 3, 3))
    pool = Pool(conv.out_shape, 2)
    network = SpikingNetwork(
        (rng.normal(0.3, 0.2, conv.kernel_shape), None, rng.normal(0.2, 0.2, (3, 8))),
        (1.0, 1.0, 1.0),
        (0.5, 0.5, 0.5),
        (conv, pool, None),
    )
    raster = rng.random((50, 36)) < 0.5
    slept, recording = run_reference(
        network, SleepDynamics(0.9, 0.01, 0.005), raster, plastic=(True, False, False), progress=False
    )
    assert recording.spikes_per_step[1:].sum() > 0
    assert not np.array_equal(slept.weights[0], network.weights[0])
    assert slept.weights[1] is None and np.array_equal(slept.weights[2], network.weights[2])


def test_fast_float32_path_follows_the_exact_one():
    from conv_fixtures import input_raster, small_conv_network

    network = small_conv_network()
    raster = input_raster(40, 128)
    dynamics = SleepDynamics(0.95, 0.01, 0.008, "weight_dependent")
    plastic = (True, False, True, True)
    exact, exact_rec = run_reference(network, dynamics, raster, plastic=plastic, progress=False)
    fast, fast_rec = run_reference(network, dynamics, raster, plastic=plastic, dtype=torch.float32, progress=False)
    assert exact_rec.spikes_per_step[1:].sum() > 0
    assert np.abs(exact_rec.spikes_per_step - fast_rec.spikes_per_step).sum() <= 2  # rounding may flip a spike
    for a, b in zip(exact.weights, fast.weights):
        if a is not None:
            assert np.allclose(a, b, atol=1e-4)
