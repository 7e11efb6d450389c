"""Recordings: the xarray Dataset, netCDF round trip, silent and saturated layers."""

import numpy as np
import xarray as xr

from bio_sleep.converters import SleepDynamics
from bio_sleep.sleep.recording import SleepRecording
from bio_sleep.sleep.reference import run_reference
from helpers import small_network, small_raster


def test_dataset_has_named_dimensions_and_round_trips(tmp_path):
    _, recording = run_reference(
        small_network(),
        SleepDynamics(0.95, 0.01, 0.003),
        small_raster(50),
        record_trains=True,
        record_potentials=((1, 2), (), (0,)),
        progress=False,
    )
    dataset = recording.to_dataset(attrs={"note": "test"})
    assert dict(dataset.sizes) == {
        "layer": 4,
        "step": 50,
        "unit": 64 + 48 + 32 + 10,
        "spike": int(recording.spikes_per_step.sum()),
        "recorded": 3,
    }
    assert list(dataset.layer.values) == ["input", "hidden_1", "hidden_2", "output"]
    np.testing.assert_array_equal(
        dataset.spike_count.where(dataset.unit_layer == "hidden_1", drop=True), recording.spike_counts[1]
    )
    assert dataset.potential.dims == ("step", "recorded")
    assert list(dataset.recorded_layer.values) == ["hidden_1", "hidden_1", "output"]
    np.testing.assert_array_equal(dataset.recorded_index, [1, 2, 0])
    assert float(dataset.potential.max()) > 0
    dataset.to_netcdf(tmp_path / "rec.nc")
    loaded = xr.load_dataset(tmp_path / "rec.nc")
    xr.testing.assert_equal(loaded, dataset)
    # Each recorded spike, counted per unit, gives the per-neuron counts.
    counts = np.bincount(loaded.spike_unit.values, minlength=loaded.sizes["unit"])
    np.testing.assert_array_equal(counts, loaded.spike_count.values)


def test_summary_flags_silent_and_saturated_layers():
    per_step = np.array([[5, 5], [0, 0], [9, 10]])
    recording = SleepRecording((10, 4, 10), 0.001, per_step, [np.ones(10), np.zeros(4), np.ones(10)])
    statuses = [row["status"] for row in recording.layer_report()]
    assert statuses == ["ok", "silent", "saturated"]
    summary = recording.summary()
    assert "layer hidden_1 never spiked" in summary and "layer output is saturated" in summary


def test_a_layer_with_fewer_spikes_than_neurons_is_near_silent():
    """A handful of spikes over the whole sleep is not 'ok': STDP barely touched the weights into that layer."""
    per_step = np.array([[5, 5, 5, 5], [1, 0, 2, 0], [4, 4, 4, 4]])
    recording = SleepRecording((10, 4, 10), 0.001, per_step, [np.ones(10), np.array([3, 0, 0, 0]), np.ones(10)])
    assert [row["status"] for row in recording.layer_report()] == ["ok", "near-silent", "ok"]
    assert "layer hidden_1 is near-silent (3 spikes from 4 neurons in 4 steps" in recording.summary()
