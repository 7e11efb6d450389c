"""Weights before and after sleep: as a Dataset, and how sleep changed them."""

from __future__ import annotations

import numpy as np
import xarray as xr

from bio_sleep.errors import BioSleepError
from bio_sleep.plotting import DPI, save_figure


def _as_arrays(weights) -> list[np.ndarray]:
    """Weight matrices (n_post, n_pre) from a SpikingNetwork, a torch model or a list of arrays."""
    if hasattr(weights, "weights") and not callable(weights.weights):
        return [np.asarray(w, dtype=np.float64) for w in weights.weights]
    if hasattr(weights, "parameters"):
        from bio_sleep.models.fc import weight_layers

        return [layer.weight.detach().double().cpu().numpy() for layer in weight_layers(weights)]
    return [np.asarray(w, dtype=np.float64) for w in weights]


def weights_dataset(before, after) -> xr.Dataset:
    """``weight_before_<k>`` and ``weight_after_<k>`` (dims post_<k>, pre_<k>) for each weight layer k (1-based)."""
    before, after = _as_arrays(before), _as_arrays(after)
    if [w.shape for w in before] != [w.shape for w in after]:
        raise BioSleepError(
            f"before and after weights differ in shape: {[w.shape for w in before]} vs "
            f"{[w.shape for w in after]}; compare two versions of the same network"
        )
    data = {}
    for k, (b, a) in enumerate(zip(before, after), start=1):
        dims = (f"post_{k}", f"pre_{k}")
        data[f"weight_before_{k}"] = (
            dims,
            b,
            {"long_name": f"weight layer {k} before sleep (torch units)", "units": "1"},
        )
        data[f"weight_after_{k}"] = (
            dims,
            a,
            {"long_name": f"weight layer {k} after sleep (torch units)", "units": "1"},
        )
    return xr.Dataset(data, attrs={"weight_layers": len(before)})


def weight_pairs(dataset: xr.Dataset) -> list[tuple[np.ndarray, np.ndarray]]:
    """[(before, after), ...] per weight layer from a Dataset holding ``weight_before_<k>`` variables."""
    pairs, k = [], 1
    while f"weight_before_{k}" in dataset:
        pairs.append((dataset[f"weight_before_{k}"].values, dataset[f"weight_after_{k}"].values))
        k += 1
    if not pairs:
        raise BioSleepError(
            "no weight_before_1 / weight_after_1 variables found: write them with "
            "bio_sleep.analysis.weights_dataset(result.before, result.after)"
        )
    return pairs


def plot_weight_change_histograms(pairs, path) -> None:
    """One histogram of (after - before) per weight layer."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(pairs), figsize=(4 * len(pairs), 3), squeeze=False)
    for k, ((before, after), ax) in enumerate(zip(pairs, axes[0]), start=1):
        change = (after - before).ravel()
        ax.hist(change, bins=60, color="tab:blue")
        ax.set(
            title=f"weight layer {k}: mean change {change.mean():+.3g}",
            xlabel="weight after - before sleep",
            ylabel="synapses (log scale)",
        )
        ax.set_yscale("log")
    save_figure(fig, path)


def plot_input_weight_images(pairs, path, image_shape, neurons: int = 16) -> None:
    """First-layer input weights of the first ``neurons`` neurons as images: before, after, change."""
    import matplotlib.pyplot as plt

    before, after = pairs[0]
    height, width = image_shape[-2:]
    channels = before.shape[1] // (height * width)
    if channels * height * width != before.shape[1]:
        raise BioSleepError(f"image shape {tuple(image_shape)} does not match {before.shape[1]} inputs")
    shown = min(neurons, before.shape[0])
    rows = [("before", before), ("after", after), ("after - before", after - before)]
    fig, axes = plt.subplots(3, shown, figsize=(1.2 * shown + 2, 4.4), squeeze=False)
    for row, (label, weights) in enumerate(rows):
        limit = np.abs(weights[:shown]).max() or 1.0
        for n in range(shown):
            image = weights[n].reshape(channels, height, width).mean(axis=0)
            drawn = axes[row, n].imshow(image, cmap="RdBu_r", vmin=-limit, vmax=limit)
            axes[row, n].set_xticks([]), axes[row, n].set_yticks([])
            if row == 0:
                axes[row, n].set_title(f"neuron {n}", fontsize=7)
        axes[row, 0].set_ylabel(label, fontsize=8)
        fig.colorbar(drawn, ax=list(axes[row]), label="weight", fraction=0.02, pad=0.01)
    fig.suptitle(f"input weights of the first layer's neurons 0-{shown - 1} (of {before.shape[0]}), one image each")
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
