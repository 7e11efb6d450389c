"""Brian2 and the float64 torch reference agree bit for bit on conv networks (and still on dense ones).

The cpp_standalone cases run with 2 OpenMP threads whatever the machine's CPUs, so that the threaded shared-kernel
accumulation and pooling are checked everywhere (a one-thread build is checked by the dense exactness tests)."""

import numpy as np
import pytest

from bio_sleep.config import SleepConfig
from bio_sleep.converters.spiking_network import AvgPool, SleepDynamics, SpikingNetwork
from bio_sleep.sleep.reference import run_reference
from bio_sleep.sleep.run import simulate
from conv_fixtures import input_raster, small_conv_network


def _assert_identical(network, dynamics, raster, plastic, target):
    reference, ref_recording = run_reference(
        network, dynamics, raster, plastic=plastic, record_trains=True, progress=False
    )
    config = SleepConfig(backend="brian2", brian2_target=target, record_spike_trains=True, threads=2)
    brian, brian_recording, _ = simulate(network, dynamics, raster, config, plastic=plastic, progress=False)
    assert ref_recording.spikes_per_step[1:].sum(axis=1).min() > 0, "a layer stayed silent: the test would prove little"
    assert np.array_equal(ref_recording.spikes_per_step, brian_recording.spikes_per_step)
    for (ref_steps, ref_units), (steps, units) in zip(ref_recording.spike_trains, brian_recording.spike_trains):
        assert np.array_equal(ref_steps, steps) and np.array_equal(ref_units, units)
    for before, ref_w, brian_w, learns in zip(network.weights, reference.weights, brian.weights, plastic):
        if before is None:
            assert ref_w is None and brian_w is None
            continue
        assert np.array_equal(ref_w, brian_w)
        assert learns == (not np.array_equal(before, ref_w))


@pytest.mark.filterwarnings("ignore")
def test_conv_network_shared_kernels_identical_in_brian2_and_torch():
    network = small_conv_network()
    dynamics = SleepDynamics(0.95, 0.01, 0.008, "weight_dependent", "above")
    # The dense head is plastic here too, so one compilation covers both kinds of synapses.
    _assert_identical(network, dynamics, input_raster(300, 128), (True, False, True, True), "cpp_standalone")


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("spike_condition, target", [("above", "cython"), ("at_or_above", "cpp_standalone")])
def test_conv_network_with_average_pooling_identical_in_brian2_and_torch(spike_condition, target):
    # Average pooling: alpha 1/4, decay 1 against the conv layers' 0.95, reset by subtraction.
    network = small_conv_network(pool_kind=AvgPool)
    dynamics = SleepDynamics(0.95, 0.01, 0.008, "weight_dependent", spike_condition)
    _assert_identical(network, dynamics, input_raster(300, 128), (True, False, True, True), target)


@pytest.mark.filterwarnings("ignore")
def test_dense_network_still_identical_in_brian2_and_torch():
    rng = np.random.default_rng(3)
    sizes = (64, 48, 32, 10)
    weights = tuple(rng.normal(0.05, 0.25, (n_post, n_pre)) for n_pre, n_post in zip(sizes[:-1], sizes[1:]))
    network = SpikingNetwork(weights, (1.0, 0.8, 0.9), (0.7, 0.6, 0.5))
    dynamics = SleepDynamics(0.97, 0.004, 0.003, "constant", "at_or_above")
    _assert_identical(network, dynamics, input_raster(300, 64, 0.3, seed=4), (True, True, True), "cpp_standalone")
