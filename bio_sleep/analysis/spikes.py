"""Spike statistics of a sleep recording, through Neo + Elephant.

A recording Dataset (``SleepRecording.to_dataset()``) holds every spike as a
(spike_step, spike_unit) pair; here a layer's spikes become ``neo.SpikeTrain``
objects so that Elephant's ISI, CV and correlation estimators apply unchanged.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from bio_sleep.errors import BioSleepError


def check_layer(dataset: xr.Dataset, layer: str) -> None:
    """Raise a BioSleepError unless ``layer`` is one of the recording's layers."""
    names = [str(name) for name in dataset["layer"].values]
    if layer not in names:
        raise BioSleepError(f"the recording has no layer '{layer}'; its layers are {names}")


def has_trains(dataset: xr.Dataset) -> bool:
    return "spike_step" in dataset


def require_trains(dataset: xr.Dataset, view: str) -> None:
    if not has_trains(dataset):
        raise BioSleepError(
            f"{view} needs the individual spikes, but this recording holds only counts: "
            "rerun sleep with sleep.record_spike_trains = true"
        )


def layer_spikes(dataset: xr.Dataset, layer: str) -> tuple[np.ndarray, np.ndarray, int]:
    """(steps, neuron indices within the layer, layer size) of every spike of ``layer``."""
    check_layer(dataset, layer)
    require_trains(dataset, f"layer '{layer}' spike trains")
    unit_layer = dataset["unit_layer"].values.astype(str)
    units = dataset["spike_unit"].values
    in_layer = unit_layer[units] == layer
    size = int(dataset["layer_size"].sel(layer=layer))
    return dataset["spike_step"].values[in_layer], dataset["unit_index"].values[units[in_layer]], size


def spike_trains(dataset: xr.Dataset, layer: str, neurons=None) -> list:
    """Neo SpikeTrains of ``layer``'s neurons (all, or the given indices), annotated with layer and index.

    Times are in milliseconds: with the usual dt of 1 ms every spike time and
    bin edge is then an integer, so Elephant's binning needs no rounding
    corrections (in seconds, 0.001 * k is inexact and Elephant logs a warning per layer).
    """
    import neo
    import quantities as pq

    steps, neuron_ids, size = layer_spikes(dataset, layer)
    dt_ms = float(dataset.attrs["dt"]) * 1e3
    t_stop = dataset.sizes["step"] * dt_ms
    neurons = range(size) if neurons is None else neurons
    order = np.argsort(neuron_ids, kind="stable")
    steps, neuron_ids = steps[order], neuron_ids[order]
    bounds = np.searchsorted(neuron_ids, [np.arange(size), np.arange(size) + 1])
    return [
        neo.SpikeTrain(
            np.sort(steps[bounds[0][n] : bounds[1][n]]) * dt_ms,
            t_stop=t_stop,
            units=pq.ms,
            name=f"{layer}[{n}]",
            layer=layer,
            neuron=int(n),
        )
        for n in neurons
    ]


def firing_rates(dataset: xr.Dataset, layer: str) -> np.ndarray:
    """Mean firing rate (Hz) of each neuron of ``layer`` over the whole sleep (from the spike counts)."""
    check_layer(dataset, layer)
    counts = dataset["spike_count"].values[dataset["unit_layer"].values.astype(str) == layer]
    return counts / (dataset.sizes["step"] * float(dataset.attrs["dt"]))


def population_rate(dataset: xr.Dataset, layer: str, window_steps: int = 1) -> np.ndarray:
    """Population rate (Hz per neuron) of ``layer`` per step, averaged over a sliding window of steps."""
    check_layer(dataset, layer)
    rate = dataset["firing_fraction"].sel(layer=layer).values / float(dataset.attrs["dt"])
    if window_steps > 1:
        rate = np.convolve(rate, np.ones(window_steps) / window_steps, mode="same")
    return rate


def isi_statistics(dataset: xr.Dataset, layer: str) -> tuple[np.ndarray, np.ndarray]:
    """All inter-spike intervals (s) of ``layer`` and the CV of each neuron with at least 3 spikes (Elephant)."""
    from elephant.statistics import cv, isi

    intervals, cvs = [], []
    for train in spike_trains(dataset, layer):
        if len(train) < 2:
            continue
        neuron_isi = isi(train).rescale("s").magnitude
        intervals.append(neuron_isi)
        if len(train) >= 3:
            cvs.append(cv(neuron_isi))
    return (np.concatenate(intervals) if intervals else np.empty(0)), np.asarray(cvs)


def count_correlation(dataset: xr.Dataset, layer: str, bin_steps: int = 10, max_neurons: int = 100) -> np.ndarray:
    """Pearson correlation of binned spike counts between the most active neurons of ``layer`` (Elephant).

    Silent neurons are left out (their correlation is undefined); at most
    ``max_neurons`` of the most active neurons are kept, so the matrix stays readable.
    """
    import quantities as pq
    from elephant.conversion import BinnedSpikeTrain
    from elephant.spike_train_correlation import correlation_coefficient

    if bin_steps < 1:
        raise BioSleepError(f"bin_steps must be >= 1, got {bin_steps}")
    rates = firing_rates(dataset, layer)
    active = [n for n in np.argsort(-rates, kind="stable")[:max_neurons] if rates[n] > 0]
    if len(active) < 2:
        raise BioSleepError(f"layer '{layer}' has {len(active)} active neuron(s): a correlation needs at least 2")
    dt_ms = float(dataset.attrs["dt"]) * 1e3
    binned = BinnedSpikeTrain(spike_trains(dataset, layer, sorted(active)), bin_size=bin_steps * dt_ms * pq.ms)
    with np.errstate(invalid="ignore", divide="ignore"):  # neurons with constant binned counts give NaN
        return correlation_coefficient(binned)


def mean_off_diagonal(matrix: np.ndarray) -> float:
    """Mean of the finite off-diagonal entries (NaN when there are none)."""
    values = matrix[~np.eye(len(matrix), dtype=bool)]
    values = values[np.isfinite(values)]
    return float(values.mean()) if values.size else float("nan")
