"""The torch reference step on hand-made cases where the right answer is known."""

import numpy as np
import pytest
import torch

from bio_sleep.converters import SleepDynamics, SpikingNetwork
from bio_sleep.sleep.reference import run_reference
from helpers import small_network, small_raster


def one_step(weights, input_spikes, dynamics, threshold=0.5, alpha=1.0):
    network = SpikingNetwork((np.array(weights, dtype=float),), (alpha,), (threshold,))
    return run_reference(network, dynamics, np.array([input_spikes], dtype=bool), progress=False)


def test_stdp_increases_when_pre_and_post_spike_and_decreases_when_post_alone():
    dynamics = SleepDynamics(1.0, inc=0.1, dec=0.03)
    slept, recording = one_step([[1.0, 0.2]], [True, False], dynamics)
    assert recording.spike_counts[1][0] == 1
    np.testing.assert_allclose(slept.weights[0], [[1.1, 0.17]])


def test_no_postsynaptic_spike_no_change():
    slept, recording = one_step([[0.3, 0.2]], [True, False], SleepDynamics(1.0, 0.1, 0.03))
    assert recording.spike_counts[1][0] == 0
    np.testing.assert_array_equal(slept.weights[0], [[0.3, 0.2]])


def test_weight_dependent_rule_freezes_positive_and_doubles_negative_weights():
    dynamics = SleepDynamics(1.0, 0.1, 0.03, stdp_rule="weight_dependent")
    slept, recording = one_step([[1.0, -0.5, 0.2]], [True, True, False], dynamics, threshold=0.4)
    assert recording.spike_counts[1][0] == 1
    # f(1.0) = f(0.2) = 0 (frozen), f(-0.5) ~= 2.
    np.testing.assert_allclose(slept.weights[0], [[1.0, -0.3, 0.2]], atol=1e-12)


def test_spike_crosses_every_layer_in_one_step():
    network = SpikingNetwork(
        (np.array([[1.0]]), np.array([[1.0]]), np.array([[1.0]])), (1.0, 1.0, 1.0), (0.5, 0.5, 0.5)
    )
    _, recording = run_reference(network, SleepDynamics(1.0, 0.0, 0.0), np.array([[True]]), progress=False)
    assert recording.spikes_per_step[:, 0].tolist() == [1, 1, 1, 1]


def test_decay_and_reset():
    # Impulse 0.3 per step, decay 0.5: v = 0.3, 0.45, 0.525 > 0.5 -> spike at step 3, then reset.
    network = SpikingNetwork((np.array([[0.3]]),), (1.0,), (0.5,))
    _, recording = run_reference(network, SleepDynamics(0.5, 0.0, 0.0), np.ones((5, 1), dtype=bool), progress=False)
    assert recording.spikes_per_step[1].tolist() == [0, 0, 1, 0, 0]


def test_float32_follows_float64_closely():
    network, raster = small_network(), small_raster(100)
    dynamics = SleepDynamics(0.95, 0.01, 0.003)
    exact, rec64 = run_reference(network, dynamics, raster, progress=False)
    fast, rec32 = run_reference(network, dynamics, raster, dtype=torch.float32, progress=False)
    total64, total32 = rec64.spikes_per_step.sum(), rec32.spikes_per_step.sum()
    assert abs(int(total64) - int(total32)) <= 0.02 * total64
    for a, b in zip(exact.weights, fast.weights):
        assert np.abs(a - b).max() < 0.05


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_runs_on_cuda():
    network, raster = small_network(), small_raster(50)
    slept, recording = run_reference(
        network, SleepDynamics(0.95, 0.01, 0.003), raster, device="cuda", dtype=torch.float32, progress=False
    )
    assert recording.spikes_per_step[1:].sum() > 0


def test_sleeping_a_model_on_the_torch_backend_never_imports_brian2():
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent("""
        import sys
        import torch
        from torch import nn
        from bio_sleep.config import SleepConfig
        from bio_sleep.sleep.run import sleep_model

        model = nn.Sequential(nn.Linear(16, 8, bias=False), nn.ReLU(), nn.Linear(8, 3, bias=False))
        config = SleepConfig(backend="torch", steps=50, thresholds=[0.5, 0.5])
        result = sleep_model(model, torch.rand(20, 16), config, progress=False)
        print(result.recording.steps, "brian2" in sys.modules)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["50", "False"]


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_two_threads_give_the_same_result_run_to_run_and_float64_the_one_thread_bits(dtype):
    from bio_sleep.sleep.reference import TorchSimulator
    from bio_sleep.sleep.simulator import BuildPlan

    network, raster = small_network(), small_raster(300)
    dynamics = SleepDynamics(0.95, 0.01, 0.003, "weight_dependent", "above")
    plan = BuildPlan((True, True, True))
    before = torch.get_num_threads()
    runs = [TorchSimulator(dtype, threads=t).run(network, dynamics, raster, plan, progress=False) for t in (2, 2, 1)]
    assert torch.get_num_threads() == before  # the caller's setting is restored
    two, again, one = (slept.weights for slept, _ in runs)
    assert all(np.array_equal(a, b) for a, b in zip(two, again))
    if dtype == torch.float64:  # the exact mode: 2 threads give the bits of 1 (and so of Brian2)
        assert all(np.array_equal(a, b) for a, b in zip(two, one))
