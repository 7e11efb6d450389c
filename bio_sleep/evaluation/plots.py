"""Plots of evaluation results."""

from __future__ import annotations

import xarray as xr

from bio_sleep.plotting import distortion_axis, distortion_name, model_name, save_figure


def plot_accuracy_sweep(results: xr.Dataset, path, title: str = "") -> None:
    """One panel per distortion: accuracy (%) against intensity, a line per network; saved as PNG.

    The legend sits below the panels, where it covers no data.
    """
    import matplotlib.pyplot as plt

    distortions = [
        name.removeprefix("accuracy_")
        for name in results.data_vars
        if name.startswith("accuracy_") and name != "accuracy_clean"
    ]
    columns = max(len(distortions), 1)
    figure, axes = plt.subplots(1, columns, figsize=(4.5 * columns, 4.0), squeeze=False)
    for axis, distortion in zip(axes[0], distortions):
        table = results[f"accuracy_{distortion}"] * 100
        for network in results.network.values:
            axis.plot(table[f"{distortion}_level"], table.sel(network=network), marker="o", label=model_name(network))
        axis.set(
            title=distortion_name(distortion), xlabel=distortion_axis(distortion), ylabel="accuracy (%)", ylim=(0, 101)
        )
        axis.grid(alpha=0.3)
    handles, labels = axes[0][0].get_legend_handles_labels()
    ncol = min(len(labels), 2 * columns)  # wider rows would run off the figure
    rows = -(-len(labels) // max(ncol, 1))
    figure.legend(handles, labels, loc="lower center", ncol=ncol, frameon=False)
    if title:
        figure.suptitle(title)
    save_figure(figure, path, rect=(0, 0.02 + 0.065 * rows, 1, 1))
