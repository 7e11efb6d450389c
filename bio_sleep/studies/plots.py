"""Heatmaps and line plots of a study Dataset over any two of its parameters."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import xarray as xr

from bio_sleep.errors import BioSleepError


def _reduce(dataset: xr.Dataset, variable: str, keep: list[str]) -> tuple[xr.DataArray, str]:
    """``variable`` averaged over every dimension not in ``keep``; the note says which (and the control's value)."""
    if variable not in dataset:
        raise BioSleepError(f"the study has no variable '{variable}'; it has {sorted(dataset.data_vars)}")
    array = dataset[variable]
    missing = [d for d in keep if d not in array.dims]
    if missing:
        raise BioSleepError(f"'{variable}' has no dimension {missing}; its dimensions are {list(array.dims)}")
    others = [d for d in array.dims if d not in keep]
    note = f" (mean over {', '.join(others)})" if others else ""
    control = dataset.attrs.get(f"control_{variable}")
    if isinstance(control, (int, float)):
        note += f"\ncontrol (no sleep): {control:.3f}"
    return array.mean(dim=others) if others else array, note


def plot_heatmap(dataset: xr.Dataset, variable: str, x: str, y: str, path) -> Path:
    """``variable`` as colour over parameters ``x`` and ``y``; other dims averaged; failed points blank."""
    import matplotlib.pyplot as plt

    array, note = _reduce(dataset, variable, [x, y])
    table = array.transpose(y, x).values
    fig, ax = plt.subplots(figsize=(1.0 + 0.8 * table.shape[1], 1.0 + 0.6 * table.shape[0]))
    # inf (an FGSM score beyond eta_max) is written in its cell but left out of the colour scale
    image = ax.imshow(np.ma.masked_invalid(table), origin="lower", aspect="auto", cmap="viridis")
    ax.set_xticks(range(table.shape[1]), [f"{v:g}" for v in dataset[x].values], rotation=45)
    ax.set_yticks(range(table.shape[0]), [f"{v:g}" for v in dataset[y].values])
    for (row, col), value in np.ndenumerate(table):
        ax.text(col, row, "" if value != value else f"{value:.2f}", ha="center", va="center", fontsize=7, color="white")
    fig.colorbar(image, ax=ax, label=variable)
    ax.set(xlabel=x, ylabel=y, title=f"{variable}{note}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Path(path)


def plot_lines(dataset: xr.Dataset, variable: str, x: str, hue: str | None, path) -> Path:
    """``variable`` against parameter ``x``, one line per value of ``hue`` (if given)."""
    import matplotlib.pyplot as plt

    array, note = _reduce(dataset, variable, [x] + ([hue] if hue else []))
    fig, ax = plt.subplots(figsize=(6, 4))
    if hue:
        for value in array[hue].values:
            line = array.sel({hue: value})
            ax.plot(line[x].values, line.values, marker="o", label=f"{hue}={value:g}")
        ax.legend(fontsize=7)
    else:
        ax.plot(array[x].values, array.values, marker="o")
    ax.set(xlabel=x, ylabel=variable, title=f"{variable}{note}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Path(path)


def plot_points_under_distortions(dataset: xr.Dataset, distortions: dict[str, list[float]], path) -> Path:
    """A points-list study: accuracy against each distortion's level, one line per point and one for the control."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(distortions), figsize=(4.2 * len(distortions), 3.6), squeeze=False)
    for ax, (name, levels) in zip(axes[0], distortions.items()):
        control = [dataset.attrs["control_accuracy_clean"], *json.loads(dataset.attrs[f"control_accuracy_{name}"])]
        ax.plot([0.0, *levels], control, marker="o", color="black", label="control (no sleep)")
        for point in dataset.point.values:
            cell = dataset.sel(point=point)
            ax.plot([0.0, *levels], [float(cell.accuracy_clean), *cell[f"accuracy_{name}"].values], marker="o",
                    label=f"point {point}")
        ax.set(xlabel=f"{name} level", ylabel="accuracy", ylim=(0, 1.02), title=name)
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Path(path)
