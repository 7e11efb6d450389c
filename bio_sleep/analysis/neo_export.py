"""A sleep recording as a ``neo.Block``, and written to NIX: the spike data in the ecosystem's own format.

One Segment holds a SpikeTrain per neuron of every layer (annotated with
``layer`` and ``neuron``, times in ms, see ``spikes.spike_trains``) and, where
membrane potentials were recorded, one AnalogSignal per layer (a channel per
recorded neuron, its indices in the array annotation ``neuron``). Elephant
reads the trains as they are; ``neo.NixIO(path, "ro").read_block()`` reads the file back.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import xarray as xr

from bio_sleep.analysis.spikes import require_trains, spike_trains
from bio_sleep.errors import BioSleepError


def recording_block(dataset: xr.Dataset, name: str = "sleep") -> neo.Block:  # noqa: F821
    """The recording as a Block with one Segment (needs individual spikes: ``record_spike_trains``)."""
    import neo
    import quantities as pq

    require_trains(dataset, "a Neo export")
    dt_ms = float(dataset.attrs["dt"]) * 1e3
    block = neo.Block(name=name, description="bio_sleep sleep phase")
    segment = neo.Segment(name=name, t_start=0 * pq.ms, t_stop=dataset.sizes["step"] * dt_ms * pq.ms)
    block.segments.append(segment)
    for layer in (str(value) for value in dataset["layer"].values):
        segment.spiketrains.extend(spike_trains(dataset, layer))
    if "potential" in dataset:
        for layer in dict.fromkeys(str(value) for value in dataset["recorded_layer"].values):
            chosen = dataset["potential"].where(dataset["recorded_layer"] == layer, drop=True)
            signal = neo.AnalogSignal(
                chosen.values,
                units=pq.dimensionless,
                sampling_period=dt_ms * pq.ms,
                name=f"{layer} membrane potential",
                layer=layer,
            )
            signal.array_annotate(neuron=chosen["recorded_index"].values.astype(np.int64))
            segment.analogsignals.append(signal)
    for train in segment.spiketrains:
        train.segment = segment
    return block


def write_nix(dataset: xr.Dataset, path) -> Path:
    """Write ``recording_block(dataset)`` to the NIX file ``path`` (a temporary name, then renamed)."""
    import neo

    path = Path(path)
    if path.suffix != ".nix":
        raise BioSleepError(f"a NIX file name ends in .nix, got {path.name}: e.g. {path.with_suffix('.nix').name}")
    block = recording_block(dataset, name=path.stem)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    with neo.NixIO(str(partial), mode="ow") as io:
        io.write_block(block)
    os.replace(partial, path)
    return path
