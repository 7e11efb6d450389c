"""Plots of evaluation results."""
from __future__ import annotations

import matplotlib.pyplot as plt
import xarray as xr  # noqa: E402


def plot_accuracy_sweep(results: xr.Dataset, path, title: str = "") -> None:
    """One panel per distortion: accuracy against intensity, a line per network; saved as PNG."""
    distortions = [name.removeprefix("accuracy_") for name in results.data_vars
                   if name.startswith("accuracy_") and name != "accuracy_clean"]
    figure, axes = plt.subplots(1, max(len(distortions), 1), figsize=(4.5 * max(len(distortions), 1), 3.6), squeeze=False)
    for axis, distortion in zip(axes[0], distortions):
        table = results[f"accuracy_{distortion}"]
        for network in results.network.values:
            axis.plot(table[f"{distortion}_level"], table.sel(network=network), marker="o", label=str(network))
        meaning = results[f"{distortion}_level"].attrs.get("meaning", "intensity")
        axis.set(xlabel=f"{distortion.replace('_', ' ')}\n({meaning})", ylabel="accuracy", ylim=(0, 1.02))
        axis.grid(alpha=0.3)
    axes[0][0].legend()
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
