"""The torch conv sleep step against independent formulas (F.conv2d, conv2d_weight)."""
import numpy as np
import torch
import torch.nn.functional as F
from torch.nn.grad import conv2d_weight

from bio_sleep.converters.spiking_network import Conv, Pool, SleepDynamics, SpikingNetwork
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
    together = conv2d_weight(pre_map, conv.kernel_shape, post_map)        # pairs where both spiked
    post_alone = conv2d_weight(1 - pre_map, conv.kernel_shape, post_map)  # post spiked, pre silent
    torch.testing.assert_close(updated.reshape(conv.kernel_shape), kernel + inc * together - dec * post_alone)


def test_pooling_and_dense_head_stay_fixed_during_sleep():
    rng = np.random.default_rng(2)
    conv = Conv((1, 6, 6), (2, 1, 3, 3))
    pool = Pool(conv.out_shape, 2)
    network = SpikingNetwork((rng.normal(0.3, 0.2, conv.kernel_shape), None, rng.normal(0.2, 0.2, (3, 8))),
                             (1.0, 1.0, 1.0), (0.5, 0.5, 0.5), (conv, pool, None))
    raster = rng.random((50, 36)) < 0.5
    slept, recording = run_reference(network, SleepDynamics(0.9, 0.01, 0.005), raster, plastic=(True, False, False),
                                     progress=False)
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
    assert np.abs(exact_rec.spikes_per_step - fast_rec.spikes_per_step).sum() <= 2   # rounding may flip a spike
    for a, b in zip(exact.weights, fast.weights):
        if a is not None:
            assert np.allclose(a, b, atol=1e-4)
