"""Heatmaps and line plots of a study Dataset over any two of its parameters."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import xarray as xr

from bio_sleep.errors import BioSleepError
from bio_sleep.plotting import distortion_axis, distortion_name, save_figure


def _label(variable: str) -> str:
    """A study variable as an axis or colour-bar label; accuracies are shown in %."""
    if variable == "accuracy_clean":
        return "clean accuracy (%)"
    if variable.startswith("accuracy_"):
        return f"accuracy under {distortion_name(variable.removeprefix('accuracy_'))} (%)"
    return {"fgsm_score": "FGSM score: median flipping η", "fgsm_success_rate": "FGSM success rate"}.get(
        variable, variable.replace("_", " ")
    )


def _shown(array: xr.DataArray, variable: str) -> xr.DataArray:
    return array * 100 if variable.startswith("accuracy_") else array


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
        shown = control * 100 if variable.startswith("accuracy_") else control
        note += f"\ncontrol (no sleep): {shown:.3g}"
    return array.mean(dim=others) if others else array, note


def plot_heatmap(dataset: xr.Dataset, variable: str, x: str, y: str, path) -> Path:
    """``variable`` as colour over parameters ``x`` and ``y``; other dims averaged; failed points blank."""
    import matplotlib.pyplot as plt

    array, note = _reduce(dataset, variable, [x, y])
    table = _shown(array, variable).transpose(y, x).values
    fig, ax = plt.subplots(figsize=(1.0 + 0.8 * table.shape[1], 1.0 + 0.6 * table.shape[0]))
    # inf (an FGSM score beyond eta_max) is written in its cell but left out of the colour scale
    image = ax.imshow(np.ma.masked_invalid(table), origin="lower", aspect="auto", cmap="viridis")
    ax.set_xticks(range(table.shape[1]), [f"{v:g}" for v in dataset[x].values], rotation=45)
    ax.set_yticks(range(table.shape[0]), [f"{v:g}" for v in dataset[y].values])
    for (row, col), value in np.ndenumerate(table):
        ax.text(col, row, "" if value != value else f"{value:.3g}", ha="center", va="center", fontsize=7, color="white")
    fig.colorbar(image, ax=ax, label=_label(variable))
    ax.set(xlabel=x, ylabel=y, title=f"{_label(variable)}{note}")
    return save_figure(fig, path)


def plot_lines(dataset: xr.Dataset, variable: str, x: str, hue: str | None, path) -> Path:
    """``variable`` against parameter ``x``, one line per value of ``hue`` (if given)."""
    import matplotlib.pyplot as plt

    array, note = _reduce(dataset, variable, [x] + ([hue] if hue else []))
    array = _shown(array, variable)
    fig, ax = plt.subplots(figsize=(6, 4))
    if hue:
        for value in array[hue].values:
            line = array.sel({hue: value})
            ax.plot(line[x].values, line.values, marker="o", label=f"{hue}={value:g}")
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    else:
        ax.plot(array[x].values, array.values, marker="o")
    ax.set(xlabel=x, ylabel=_label(variable), title=f"{_label(variable)}{note}")
    return save_figure(fig, path)


def plot_points_under_distortions(dataset: xr.Dataset, distortions: dict[str, list[float]], path) -> Path:
    """A points-list study: accuracy against each distortion's level, one line per point and one for the control."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(distortions), figsize=(4.2 * len(distortions), 4.2), squeeze=False)
    parameters = [name for name, coord in dataset.coords.items() if coord.dims == ("point",) and name != "point"]
    for ax, (name, levels) in zip(axes[0], distortions.items()):
        control = [dataset.attrs["control_accuracy_clean"], *json.loads(dataset.attrs[f"control_accuracy_{name}"])]
        ax.plot([0.0, *levels], np.asarray(control) * 100, marker="o", color="black", label="control (no sleep)")
        for point in dataset.point.values:
            cell = dataset.sel(point=point)
            label = ", ".join(f"{p} {float(cell[p]):g}" for p in parameters) or f"point {point}"
            ax.plot(
                [0.0, *levels],
                100 * np.array([float(cell.accuracy_clean), *cell[f"accuracy_{name}"].values]),
                marker="o",
                label=f"sleep: {label}",
            )
        ax.set(xlabel=distortion_axis(name), ylabel="accuracy (%)", ylim=(0, 101), title=distortion_name(name))
        ax.grid(alpha=0.3)
    handles, labels = axes[0][0].get_legend_handles_labels()
    columns = max(1, min(len(labels), len(distortions)))  # one legend column per panel's width
    fig.legend(handles, labels, loc="lower center", ncol=columns, fontsize=7, frameon=False)
    rows = -(-len(labels) // columns)
    return save_figure(fig, path, rect=(0, min(0.045 * rows, 0.5), 1, 1))
