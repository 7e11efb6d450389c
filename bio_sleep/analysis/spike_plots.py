"""Standard views of a sleep recording, each written to a PNG."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from bio_sleep.analysis import spikes
from bio_sleep.errors import BioSleepError
from bio_sleep.plotting import save_figure


def _figure(n_panels: int, height: float = 2.2):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(n_panels, 1, figsize=(8, height * n_panels), squeeze=False)
    return plt, fig, axes[:, 0]


def _save(plt, fig, path) -> Path:
    return save_figure(fig, path)


def _layers(dataset: xr.Dataset, layers) -> list[str]:
    """The layers to draw: those asked for, or every layer that spiked (a silent layer's panel would be empty)."""
    if layers is None:
        totals = dataset["spikes_per_step"].sum("step")
        layers = [str(name) for name in dataset["layer"].values if int(totals.sel(layer=name)) > 0]
        if not layers:
            raise BioSleepError("no layer spiked during this sleep: there is nothing to plot")
    for layer in layers:
        spikes.check_layer(dataset, layer)
    return list(layers)


def _silent_note(dataset: xr.Dataset, shown: list[str]) -> str:
    silent = [str(name) for name in dataset["layer"].values if str(name) not in shown]
    return f"not shown (no spikes): {', '.join(silent)}" if silent else ""


def plot_raster(dataset: xr.Dataset, path, layers=None, max_neurons: int = 200) -> Path:
    """Spike raster per layer that spiked (the first ``max_neurons`` neurons of each, as each panel's title says)."""
    spikes.require_trains(dataset, "a raster plot")
    layers = _layers(dataset, layers)
    plt, fig, axes = _figure(len(layers))
    dt = float(dataset.attrs["dt"])
    for layer, ax in zip(layers, axes):
        steps, neurons, size = spikes.layer_spikes(dataset, layer)
        shown = neurons < max_neurons
        ax.scatter(steps[shown] * dt, neurons[shown], s=6, marker="|", color="black", linewidths=0.6)
        which = f"neurons 0-{min(size, max_neurons) - 1} of {size}"
        ax.set(
            ylabel="neuron index",
            title=f"{layer}: {which}, {len(steps)} spikes",
            xlim=(0, dataset.sizes["step"] * dt),
            ylim=(-0.5, min(size, max_neurons) - 0.5),
        )
    axes[-1].set_xlabel("time (s)")
    fig.supxlabel(_silent_note(dataset, layers), fontsize=8)
    return _save(plt, fig, path)


def plot_population_rate(dataset: xr.Dataset, path, layers=None, window_steps: int = 10) -> Path:
    """Mean rate per neuron of each layer over time, smoothed over ``window_steps``."""
    layers = _layers(dataset, layers)
    plt, fig, axes = _figure(len(layers))
    time = dataset["time"].values
    for layer, ax in zip(layers, axes):
        ax.plot(time, spikes.population_rate(dataset, layer, window_steps), lw=0.8)
        ax.set(ylabel="rate per neuron (Hz)", title=f"{layer}: mean over its neurons, {window_steps}-step window")
    axes[-1].set_xlabel("time (s)")
    fig.supxlabel(_silent_note(dataset, layers), fontsize=8)
    return _save(plt, fig, path)


def plot_rate_distribution(dataset: xr.Dataset, path, layers=None) -> Path:
    """Histogram of the neurons' mean firing rates, per layer."""
    layers = _layers(dataset, layers)
    plt, fig, axes = _figure(len(layers))
    for layer, ax in zip(layers, axes):
        rates = spikes.firing_rates(dataset, layer)
        ax.hist(rates, bins=40, color="tab:green")
        ax.set(
            ylabel="neurons", title=f"{layer}: {np.mean(rates == 0):.0%} of neurons silent, mean {rates.mean():.2f} Hz"
        )
    axes[-1].set_xlabel("firing rate over the whole sleep (Hz)")
    return _save(plt, fig, path)


def plot_isi(dataset: xr.Dataset, path, layers=None) -> Path:
    """Inter-spike-interval histogram and CV distribution per layer (Elephant's isi and cv)."""
    layers = _layers(dataset, layers)
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(layers), 2, figsize=(9, 2.2 * len(layers)), squeeze=False)
    for layer, (isi_ax, cv_ax) in zip(layers, axes):
        intervals, cvs = spikes.isi_statistics(dataset, layer)
        if intervals.size:
            isi_ax.hist(intervals * 1e3, bins=50, color="tab:purple")
        isi_ax.set(ylabel=f"{layer}\nintervals", xlabel="ISI (ms)")
        if cvs.size:
            cv_ax.hist(cvs, bins=30, color="tab:orange")
        cv_ax.set(
            xlabel="CV of ISI",
            title=f"median CV {np.median(cvs):.2f}" if cvs.size else "fewer than 3 spikes per neuron",
        )
    return _save(plt, fig, path)


def plot_count_correlation(dataset: xr.Dataset, path, layer: str, bin_steps: int = 10, max_neurons: int = 100) -> Path:
    """Matrix and histogram of pairwise spike-count correlations in ``layer`` (Elephant)."""
    import matplotlib.pyplot as plt

    matrix = spikes.count_correlation(dataset, layer, bin_steps, max_neurons)
    off_diagonal = matrix[~np.eye(len(matrix), dtype=bool)]
    fig, (map_ax, hist_ax) = plt.subplots(1, 2, figsize=(10, 4))
    image = map_ax.imshow(matrix, cmap="RdBu_r", vmin=-1, vmax=1)
    fig.colorbar(image, ax=map_ax, label="Pearson correlation of spike counts")
    map_ax.set(title=f"{layer}: spike-count correlation ({bin_steps}-step bins)", xlabel="neuron", ylabel="neuron")
    hist_ax.hist(off_diagonal[np.isfinite(off_diagonal)], bins=50)
    hist_ax.set(xlabel="correlation coefficient", ylabel="pairs", title=f"mean {spikes.mean_off_diagonal(matrix):.3f}")
    return _save(plt, fig, path)


def plot_potentials(dataset: xr.Dataset, path) -> Path:
    """Membrane potential over time of every recorded neuron, one panel per layer."""
    layers = list(dict.fromkeys(str(name) for name in dataset["recorded_layer"].values))
    plt, fig, axes = _figure(len(layers))
    time = dataset["time"].values
    for layer, ax in zip(layers, axes):
        chosen = dataset["potential"].where(dataset["recorded_layer"] == layer, drop=True)
        for index in range(chosen.sizes["recorded"]):
            ax.plot(time, chosen.isel(recorded=index), lw=0.7, label=f"neuron {int(chosen.recorded_index[index])}")
        if "threshold" in dataset and layer in dataset["layer"].values:
            ax.axhline(float(dataset["threshold"].sel(layer=layer)), color="black", ls="--", lw=0.8, label="threshold")
        ax.set(ylabel="membrane potential", title=f"{layer} (potential after the step's reset)")
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    axes[-1].set_xlabel("time (s)")
    return _save(plt, fig, path)
