"""Brian2 and the float64 torch reference give identical sleep on identical input spikes.

The project's strongest correctness test: same weights bit for bit, same spike
counts per neuron and per step, same membrane potentials of watched neurons,
for both STDP rules and both Brian2 targets, and again after reruns of the
compiled network with new parameter values and other numbers of steps; and on
a dyadic network whose potentials land exactly on thresholds, so that the
spike condition (v > threshold or the authors' v >= threshold) is pinned on
both sides. The weight factor alone is checked in test_weight_factor.py.
"""

import dataclasses

import numpy as np
import pytest

from bio_sleep.converters import SleepDynamics, SpikingNetwork
from bio_sleep.sleep.brian2_network import Architecture, brian_network_for
from bio_sleep.sleep.reference import run_reference
from bio_sleep.sleep.simulator import BuildPlan
from helpers import small_network, small_raster

# Membrane potentials recorded on both sides: a few neurons of each layer, none of hidden_2.
WATCHED = ((0, 5, 47), (), (2, 9))


def assert_identical(reference, brian):
    (net_a, rec_a), (net_b, rec_b) = reference, brian
    for layer, (w_a, w_b) in enumerate(zip(net_a.weights, net_b.weights)):
        assert np.array_equal(w_a, w_b), f"layer {layer + 1}: max |dw| {np.abs(w_a - w_b).max()}"
    for count_a, count_b in zip(rec_a.spike_counts, rec_b.spike_counts):
        np.testing.assert_array_equal(count_a, count_b)
    np.testing.assert_array_equal(rec_a.spikes_per_step, rec_b.spikes_per_step)
    potentials_a, potentials_b = rec_a.potentials or {}, rec_b.potentials or {}
    assert potentials_a.keys() == potentials_b.keys()
    for layer, (neurons_a, values_a) in potentials_a.items():
        np.testing.assert_array_equal(neurons_a, potentials_b[layer][0])
        assert np.array_equal(values_a, potentials_b[layer][1]), f"potentials of layer {layer} differ"
    for (steps_a, units_a), (steps_b, units_b) in zip(rec_a.spike_trains, rec_b.spike_trains):
        order_a, order_b = np.lexsort((units_a, steps_a)), np.lexsort((units_b, steps_b))
        np.testing.assert_array_equal(steps_a[order_a], steps_b[order_b])
        np.testing.assert_array_equal(units_a[order_a], units_b[order_b])


@pytest.mark.parametrize("target", ["cpp_standalone", "cython"])
@pytest.mark.parametrize("rule", ["constant", "weight_dependent"])
def test_brian2_equals_torch_reference(target, rule):
    network, raster = small_network(), small_raster(300)
    dynamics = SleepDynamics(0.95, 0.01, 0.003, rule, "above")
    arch = Architecture.of(network, dynamics, BuildPlan((True, True, True), 0.001, True, WATCHED), target)
    brian = brian_network_for(arch)

    reference = run_reference(network, dynamics, raster, record_trains=True, record_potentials=WATCHED, progress=False)
    assert all(not np.array_equal(a, b) for a, b in zip(reference[0].weights, network.weights)), "STDP changed nothing"
    assert reference[1].spikes_per_step[1:].sum() > 100, "too few spikes for a meaningful comparison"
    assert_identical(reference, brian.run(network, dynamics, raster, progress=False))

    # The same compiled network, new values: no recompilation, still identical.
    changed = dataclasses.replace(dynamics, decay=0.9, inc=0.02)
    retuned = dataclasses.replace(network, thresholds=(0.25, 0.35, 0.3), alphas=(1.1, 1.0, 1.6))
    assert brian_network_for(arch) is brian
    # ... and another number of steps: the compiled network's run ends with its raster.
    for steps in (170, 431):
        raster = small_raster(steps, seed=7)
        assert_identical(
            run_reference(retuned, changed, raster, record_trains=True, record_potentials=WATCHED, progress=False),
            brian.run(retuned, changed, raster, progress=False),
        )


def _dyadic_network(seed: int = 5) -> SpikingNetwork:
    """Weights in multiples of 1/8, unit alphas and dyadic thresholds: every potential is exact in float64,
    so potentials land exactly on a threshold often and the spike condition (> or >=) decides."""
    rng = np.random.default_rng(seed)
    sizes = (32, 16, 12, 6)
    weights = tuple(rng.integers(-3, 6, (n_post, n_pre)) / 8.0 for n_pre, n_post in zip(sizes[:-1], sizes[1:]))
    return SpikingNetwork(weights, (1.0, 1.0, 1.0), (1.0, 0.75, 0.5))


@pytest.mark.parametrize("target", ["cython", "cpp_standalone"])
@pytest.mark.parametrize("condition", ["above", "at_or_above"])
def test_spike_condition_pinned_where_potentials_hit_the_threshold(condition, target):
    """Potentials exactly on a threshold: both sides must apply the same comparison (a swapped > / >= breaks this)."""
    network, raster = _dyadic_network(), small_raster(200, 32, seed=3)
    # decay 1/2 halves exactly; inc and dec are dyadic, so STDP keeps the weights exact too.
    dynamics = SleepDynamics(0.5, 1 / 64, 1 / 128, "constant", condition)
    other = dataclasses.replace(dynamics, spike_condition="at_or_above" if condition == "above" else "above")
    reference = run_reference(network, dynamics, raster, record_trains=True, progress=False)
    arch = Architecture.of(network, dynamics, BuildPlan((True, True, True), 0.001, True), target)
    assert_identical(reference, brian_network_for(arch).run(network, dynamics, raster, progress=False))
    _, other_recording = run_reference(network, other, raster, progress=False)
    assert not np.array_equal(reference[1].spikes_per_step, other_recording.spikes_per_step), (
        "no potential landed on a threshold: the test would not pin the comparison"
    )


def test_openmp_threads_keep_cpp_standalone_exact_and_repeatable():
    """With OpenMP, Brian2 adds each target's inputs on one thread in spike order: still the reference's bits."""
    network, raster = small_network(), small_raster(300)
    dynamics = SleepDynamics(0.95, 0.01, 0.003, "weight_dependent", "above")
    plan = BuildPlan((True, True, True), 0.001, True, WATCHED)
    arch = Architecture.of(network, dynamics, plan, "cpp_standalone", threads=2)
    assert arch != Architecture.of(network, dynamics, plan, "cpp_standalone")  # threads are compiled in
    brian = brian_network_for(arch)
    reference = run_reference(network, dynamics, raster, record_trains=True, record_potentials=WATCHED, progress=False)
    assert_identical(reference, brian.run(network, dynamics, raster, progress=False))
    assert_identical(reference, brian.run(network, dynamics, raster, progress=False))
