"""Every standard view of one sleep recording into a folder: PNGs plus a table of per-layer statistics."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import xarray as xr

from bio_sleep.analysis import spike_plots, spikes, weights
from bio_sleep.errors import BioSleepError
from bio_sleep.run_folder import output_folder


def open_recording(path) -> xr.Dataset:
    """A recording Dataset from a netCDF file, with a clear error when it is not one."""
    path = Path(path)
    if not path.is_file():
        raise BioSleepError(
            f"recording {path} does not exist; pass a .nc file written from SleepRecording.to_dataset()"
        )
    try:
        dataset = xr.load_dataset(path)
    except (OSError, ValueError) as error:
        raise BioSleepError(f"{path} is not a readable netCDF file ({error})") from None
    missing = {"spikes_per_step", "spike_count", "layer_size"} - set(dataset.variables)
    if missing or "dt" not in dataset.attrs:
        raise BioSleepError(f"{path} is not a sleep recording: it lacks {sorted(missing) or ['the dt attribute']}")
    return dataset


def layer_statistics(dataset: xr.Dataset, bin_steps: int = 10) -> list[dict]:
    """Per layer: mean rate, fraction silent, and when trains exist median ISI CV and mean pairwise correlation."""
    rows = []
    for layer in [str(name) for name in dataset["layer"].values]:
        rates = spikes.firing_rates(dataset, layer)
        row = {
            "layer": layer,
            "neurons": len(rates),
            "mean_rate_hz": float(rates.mean()),
            "silent_fraction": float(np.mean(rates == 0)),
            "median_isi_cv": np.nan,
            "mean_count_correlation": np.nan,
        }
        if spikes.has_trains(dataset):
            _, cvs = spikes.isi_statistics(dataset, layer)
            row["median_isi_cv"] = float(np.median(cvs)) if cvs.size else np.nan
            if np.sum(rates > 0) >= 2:
                matrix = spikes.count_correlation(dataset, layer, bin_steps)
                row["mean_count_correlation"] = spikes.mean_off_diagonal(matrix)
        rows.append(row)
    return rows


def analyse_recording(
    dataset: xr.Dataset, out_dir, *, weights_data: xr.Dataset | None = None, image_shape=None, bin_steps: int = 10
) -> list[Path]:
    """Write every view that the recording supports into ``out_dir``; returns the files written."""
    out = Path(out_dir)
    output_folder(out)
    written = [
        spike_plots.plot_population_rate(dataset, out / "population_rate.png"),
        spike_plots.plot_rate_distribution(dataset, out / "rate_distribution.png"),
    ]
    if spikes.has_trains(dataset):
        written += [
            spike_plots.plot_raster(dataset, out / "raster.png"),
            spike_plots.plot_isi(dataset, out / "isi.png"),
        ]
        for layer in [str(name) for name in dataset["layer"].values]:
            if np.sum(spikes.firing_rates(dataset, layer) > 0) >= 2:
                written.append(
                    spike_plots.plot_count_correlation(dataset, out / f"correlation_{layer}.png", layer, bin_steps)
                )
    if "potential" in dataset:
        written.append(spike_plots.plot_potentials(dataset, out / "potentials.png"))
    rows = layer_statistics(dataset, bin_steps)
    with open(out / "spike_statistics.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    written.append(out / "spike_statistics.csv")
    source = weights_data if weights_data is not None else dataset
    if "weight_before_1" in source:
        pairs = weights.weight_pairs(source)
        weights.plot_weight_change_histograms(pairs, out / "weight_change.png")
        written.append(out / "weight_change.png")
        if image_shape is not None:
            weights.plot_input_weight_images(pairs, out / "input_weights.png", image_shape)
            written.append(out / "input_weights.png")
    return written
