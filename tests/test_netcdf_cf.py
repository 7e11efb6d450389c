"""Every netCDF a run writes states CF-1.10 and its history; variables carry long_name (and units where numeric);
the recording holds the layers' thresholds, which the potential plot draws."""

import re

import numpy as np
import pytest
import xarray as xr

from bio_sleep.config import default_config, with_overrides
from bio_sleep.netcdf import cf_dataset
from bio_sleep.pipeline import run_experiment

# Labels and codes: strings, and class indices (their meaning is the class, not a unit).
WITHOUT_UNITS = {"layer", "unit_layer", "recorded_layer", "network"}


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    config = with_overrides(
        default_config(),
        {
            "output_dir": str(tmp_path_factory.mktemp("runs")),
            "data": {"patches_train_copies": 20, "patches_test_copies": 10},
            "model": {"widths": [100, 8, 4]},
            "sleep": {
                "backend": "torch",
                "steps": 200,
                "record_spike_trains": True,
                "thresholds": [0.7, 1.1],
                "record_potentials": {"output": [0, 1]},
            },
        },
    )
    return run_experiment(config, progress=False, log=lambda *_: None).folder


def test_every_netcdf_of_a_run_states_cf_and_describes_its_variables(run_folder):
    files = sorted(run_folder.glob("*.nc"))
    assert {f.name for f in files} == {"results.nc", "sleep_recording.nc", "weights.nc"}
    for path in files:
        dataset = xr.open_dataset(path)
        assert dataset.attrs["Conventions"] == "CF-1.10"
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00: .+ \(bio_sleep [^)]+\)", dataset.attrs["history"])
        for name, variable in dataset.variables.items():
            assert variable.attrs.get("long_name"), f"{path.name}: {name} has no long_name"
            assert set(variable.attrs).isdisjoint({"meaning"}), f"{path.name}: {name}"
            if name not in WITHOUT_UNITS:
                assert "units" in variable.attrs, f"{path.name}: {name} has no units"


def test_history_keeps_earlier_lines_newest_first():
    first = cf_dataset(xr.Dataset(attrs={"history": "2020-01-01T00:00:00+00:00: older"}), command="bio-sleep x")
    lines = first.attrs["history"].splitlines()
    assert lines[0].endswith(")") and "bio-sleep x (bio_sleep" in lines[0] and lines[1].endswith("older")


def test_the_recording_holds_the_thresholds_and_the_potential_plot_draws_them(run_folder, tmp_path, monkeypatch):
    import matplotlib.axes

    from bio_sleep.analysis.spike_plots import plot_potentials

    recording = xr.load_dataset(run_folder / "sleep_recording.nc")
    np.testing.assert_array_equal(recording["threshold"].sel(layer=["hidden_1", "output"]), [0.7, 1.1])
    assert np.isnan(recording["threshold"].sel(layer="input"))
    drawn = []
    original = matplotlib.axes.Axes.axhline
    monkeypatch.setattr(
        matplotlib.axes.Axes, "axhline", lambda ax, y=0, *a, **k: drawn.append((y, k.get("label"))) or original(ax, y)
    )
    plot_potentials(recording, tmp_path / "potentials.png")
    assert drawn == [(1.1, "threshold")]
