"""Spike statistics and views of a recording with known spike trains."""

import argparse
import csv

import numpy as np
import pytest
import xarray as xr

from bio_sleep.analysis import (
    analyse_recording,
    cli,
    count_correlation,
    firing_rates,
    isi_statistics,
    open_recording,
    weights_dataset,
)
from bio_sleep.analysis.spikes import population_rate
from bio_sleep.errors import BioSleepError
from bio_sleep.sleep.recording import SleepRecording

STEPS, DT = 200, 0.001


def _recording(with_trains=True) -> SleepRecording:
    """Input: 4 neurons; neuron 0 fires every 10 steps, 1 identical to 0, 2 every 20 steps, 3 silent.
    Output: 2 neurons with irregular spikes."""
    regular = np.arange(0, STEPS, 10)
    half = np.arange(5, STEPS, 20)
    rng = np.random.default_rng(0)
    irregular = np.sort(rng.choice(STEPS, 30, replace=False))
    other = np.sort(rng.choice(STEPS, 25, replace=False))
    trains = [
        (np.concatenate([regular, regular, half]), np.concatenate([[0] * 20, [1] * 20, [2] * 10])),
        (np.concatenate([irregular, other]), np.concatenate([[0] * 30, [1] * 25])),
    ]
    per_step = np.stack([np.bincount(s, minlength=STEPS) for s, _ in trains])
    counts = [np.bincount(n, minlength=size) for (_, n), size in zip(trains, (4, 2))]
    return SleepRecording((4, 2), DT, per_step, counts, trains if with_trains else None)


def test_rates_isi_cv_and_correlation_match_the_trains():
    dataset = _recording().to_dataset()
    np.testing.assert_allclose(firing_rates(dataset, "input"), [100.0, 100.0, 50.0, 0.0])
    intervals, cvs = isi_statistics(dataset, "input")
    # 19 + 19 intervals of 10 ms, 9 of 20 ms; regular trains have CV 0.
    assert len(intervals) == 47
    np.testing.assert_allclose(np.sort(intervals)[[0, -1]], [0.010, 0.020])
    np.testing.assert_allclose(cvs, 0.0, atol=1e-9)
    _, output_cvs = isi_statistics(dataset, "output")
    assert np.all(output_cvs > 0.3)  # random trains are irregular
    matrix = count_correlation(dataset, "input", bin_steps=5)
    assert matrix.shape == (3, 3)  # the silent neuron is left out
    assert matrix[0, 1] == pytest.approx(1.0)
    np.testing.assert_allclose(population_rate(dataset, "input").mean(), 250.0 / 4)


def test_analyse_writes_every_view_and_the_cli_runs(tmp_path):
    recording = _recording()
    recording.potentials = {1: (np.array([1]), np.linspace(0.0, 1.0, STEPS)[:, None])}
    path = tmp_path / "recording.nc"
    recording.to_dataset().to_netcdf(path)
    before = [np.zeros((2, 4))]
    after = [np.array([[0.1, 0.0, -0.2, 0.0], [0.0, 0.3, 0.0, 0.0]])]
    weights_dataset(before, after).to_netcdf(tmp_path / "weights.nc")
    parser = argparse.ArgumentParser()
    cli.add_parser(parser.add_subparsers())
    args = parser.parse_args(
        [
            "analyse",
            str(path),
            "--out",
            str(tmp_path / "out"),
            "--weights",
            str(tmp_path / "weights.nc"),
            "--image-shape",
            "2x2",
        ]
    )
    assert args.handler(args) == 0
    names = {p.name for p in (tmp_path / "out").iterdir()}
    assert {
        "raster.png",
        "population_rate.png",
        "rate_distribution.png",
        "isi.png",
        "correlation_input.png",
        "spike_statistics.csv",
        "weight_change.png",
        "input_weights.png",
        "potentials.png",
    } <= names
    rows = list(csv.DictReader(open(tmp_path / "out" / "spike_statistics.csv")))
    assert [row["layer"] for row in rows] == ["input", "output"]
    assert float(rows[0]["mean_rate_hz"]) == pytest.approx(62.5)
    assert float(rows[0]["median_isi_cv"]) == pytest.approx(0.0, abs=1e-9)
    # 10-step bins hold exactly one spike of each regular neuron: constant counts, correlation undefined
    assert rows[0]["mean_count_correlation"] == "nan"


def test_counts_only_recording_gives_rate_views_and_clear_errors_for_train_views(tmp_path):
    dataset = _recording(with_trains=False).to_dataset()
    written = {p.name for p in analyse_recording(dataset, tmp_path)}
    assert written == {"population_rate.png", "rate_distribution.png", "spike_statistics.csv"}
    with pytest.raises(BioSleepError, match="record_spike_trains"):
        isi_statistics(dataset, "input")


def test_bad_inputs_are_named(tmp_path):
    dataset = _recording().to_dataset()
    with pytest.raises(BioSleepError, match="no layer 'hidden_9'"):
        firing_rates(dataset, "hidden_9")
    with pytest.raises(BioSleepError, match="does not exist"):
        open_recording(tmp_path / "missing.nc")
    xr.Dataset({"x": ("a", [1])}).to_netcdf(tmp_path / "other.nc")
    with pytest.raises(BioSleepError, match="not a sleep recording"):
        open_recording(tmp_path / "other.nc")
    (tmp_path / "junk.nc").write_text("junk")
    with pytest.raises(BioSleepError, match="not a readable netCDF"):
        open_recording(tmp_path / "junk.nc")
    with pytest.raises(BioSleepError, match="bin_steps"):
        count_correlation(dataset, "input", bin_steps=0)
    with pytest.raises(BioSleepError, match="differ in shape"):
        weights_dataset([np.zeros((2, 3))], [np.zeros((3, 2))])
