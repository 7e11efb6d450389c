"""Digit-specific neurons in the spiking network before and after sleep (ICLR 2020, Figure 16).

All images of a class are shown to the spiking network with plasticity off,
each for ``steps_per_image`` steps (Bernoulli input spikes at the sleep's
input rate), and every neuron's spikes are counted. The class-specific
neurons are the ``top_k`` most active of the layer in the network before
sleep; their mean count is normalised by the largest count that network
produced in that layer over all classes.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from bio_sleep.errors import BioSleepError


def class_spike_counts(
    network, dynamics, x: np.ndarray, *, steps_per_image: int, scale: float, seed: int = 0, dt: float = 0.001
) -> list[np.ndarray]:
    """Spike count of every neuron of every layer while ``x`` (images, flattened) is shown, weights frozen."""
    from bio_sleep.sleep.input_spikes import draw_input_spikes
    from bio_sleep.sleep.reference import run_reference

    shown = np.repeat(np.asarray(x, dtype=np.float64), steps_per_image, axis=0)
    raster = draw_input_spikes(shown, len(shown), scale, "sequential_images", seed=seed)
    _, recording = run_reference(
        network, dynamics, raster, dt=dt, plastic=(False,) * len(network.weights), progress=False
    )
    return recording.spike_counts


def digit_specific_spike_rates(
    before,
    after,
    dynamics,
    x,
    y,
    n_classes: int,
    *,
    layer: int = 1,
    top_k: int = 100,
    steps_per_image: int = 10,
    scale: float = 0.016,
    seed: int = 0,
) -> xr.DataArray:
    """Normalised spike counts of each class's top-k neurons of ``layer`` (1 = first hidden), (network, class)."""
    if not 1 <= layer < len(before.sizes):
        raise BioSleepError(f"layer must be 1..{len(before.sizes) - 1} (0 is the input), got {layer}")
    if top_k > before.sizes[layer]:
        raise BioSleepError(f"top_k = {top_k} exceeds the {before.sizes[layer]} neurons of layer {layer}")
    x, y = np.asarray(x), np.asarray(y)
    counts = {
        name: np.stack(
            [
                class_spike_counts(
                    net, dynamics, x[y == c], steps_per_image=steps_per_image, scale=scale, seed=seed + c
                )[layer]
                for c in range(n_classes)
            ]
        )
        for name, net in (("before", before), ("after", after))
    }
    chosen = [np.argsort(-counts["before"][c], kind="stable")[:top_k] for c in range(n_classes)]
    values = [
        [counts[name][c, chosen[c]].mean() / max(counts[name].max(), 1) for c in range(n_classes)]
        for name in ("before", "after")
    ]
    return xr.DataArray(
        np.array(values),
        dims=("network", "class"),
        coords={"network": ["before", "after"], "class": np.arange(n_classes)},
        name="normalised_spike_count",
        attrs={"layer": layer, "top_k": top_k},
    )
