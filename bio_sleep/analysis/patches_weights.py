"""Patches weight plots and the ON/OFF weight spread (ICLR 2020, Figures 6-7).

For output neuron c, an input pixel is *ON* when it is bright only in class
c's prototype, *overlap* when bright in c's and another class's prototype,
and *OFF* when dark in c's prototype. The weight spread of c is mean(W[c, ON])
- mean(W[c, OFF]): the mean input the correct output receives (Section 6).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from bio_sleep.errors import BioSleepError
from bio_sleep.plotting import model_name, save_figure

ROLES = ("off", "overlap", "on")


def pixel_roles(prototypes: np.ndarray) -> np.ndarray:
    """(n_classes, n_pixels) ints indexing ROLES, from binary prototype images (n_classes, n_pixels)."""
    bright = np.asarray(prototypes) > 0
    shared = bright.sum(axis=0) > 1
    return np.where(~bright, 0, np.where(shared[None, :], 1, 2))


def single_layer_weights(model) -> np.ndarray:
    from bio_sleep.models.fc import weight_layers

    layers = weight_layers(model)
    if len(layers) != 1:
        raise BioSleepError(
            f"Patches weight plots read input->output weights directly, so they need a network with one "
            f"weight layer; this one has {len(layers)} (use model.widths = [100, 4])"
        )
    return layers[0].weight.detach().double().numpy()


def weight_spread(models: dict, prototypes: np.ndarray) -> xr.DataArray:
    """mean(W[c, ON]) - mean(W[c, OFF]) per network and class."""
    roles = pixel_roles(prototypes)
    table = []
    for model in models.values():
        weights = single_layer_weights(model)
        if weights.shape != roles.shape:
            raise BioSleepError(f"weights {weights.shape} do not match the prototypes {roles.shape}")
        table.append([weights[c, roles[c] == 2].mean() - weights[c, roles[c] == 0].mean() for c in range(len(roles))])
    return xr.DataArray(
        np.array(table),
        dims=("network", "class"),
        coords={"network": list(models), "class": np.arange(len(roles))},
        name="weight_spread",
        attrs={"definition": "mean ON-pixel weight minus mean OFF-pixel weight"},
    )


def plot_patches_weights(models: dict, prototypes: np.ndarray, path) -> Path:
    """Figure 6: one row per network, one panel per output neuron, weights per input pixel coloured by role."""
    import matplotlib.pyplot as plt

    roles = pixel_roles(prototypes)
    colours = {"off": "tab:gray", "overlap": "tab:orange", "on": "tab:blue"}
    fig, axes = plt.subplots(
        len(models), len(roles), figsize=(3 * len(roles), 2.2 * len(models)), squeeze=False, sharey="row"
    )
    for row, (name, model) in enumerate(models.items()):
        weights = single_layer_weights(model)
        for c, ax in enumerate(axes[row]):
            for code, role in enumerate(ROLES):
                pixels = np.flatnonzero(roles[c] == code)
                ax.bar(pixels, weights[c, pixels], color=colours[role], width=1.0, label=role)
            ax.axhline(0, color="black", lw=0.5)
            ax.set_title(f"{model_name(name)}: output neuron {c}", fontsize=8)
        axes[row, 0].set_ylabel("weight")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(
        handles[: len(ROLES)],
        [f"{role} pixel of the class" if role != "overlap" else "shared pixel" for role in labels[: len(ROLES)]],
        loc="lower center",
        ncol=len(ROLES),
        frameon=False,
    )
    for ax in axes[-1]:
        ax.set_xlabel("input pixel")
    return save_figure(fig, path, rect=(0, 0.06, 1, 1))


def plot_weight_spread(spread: xr.DataArray, path) -> Path:
    """Figure 7: weight spread per network (mean over classes, with the per-class values as dots)."""
    import matplotlib.pyplot as plt

    names = [str(n) for n in spread["network"].values]
    fig, ax = plt.subplots(figsize=(1.3 * len(names) + 2, 3.5))
    ax.bar([model_name(name) for name in names], spread.mean("class").values, color="tab:blue")
    for k, name in enumerate(names):
        ax.plot([k] * spread.sizes["class"], spread.sel(network=name).values, "k.", ms=4)
    ax.set(ylabel="mean ON-pixel - mean OFF-pixel weight", title="weight spread per network")
    ax.set_xlabel("bars: mean over output neurons; dots: each output neuron", fontsize=8)
    return save_figure(fig, path)
