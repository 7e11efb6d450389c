"""Figures 2 and 3 of the CNN paper and a markdown table of the measured numbers next to its claims."""

from __future__ import annotations

import numpy as np
import xarray as xr

from bio_sleep.plotting import DPI, distortion_axis, distortion_name, model_name, save_figure
from bio_sleep.src.claims import claims_table, paired_gain, run_claims, sweep_names
from bio_sleep.statistics import NO_INTERVAL, summarise


def plot_figure2(results: xr.Dataset, path, networks=("baseline", "src", "src_fff")) -> None:
    """Accuracy vs intensity per distortion; lines are means over trials, bands one sample standard deviation."""
    import matplotlib.pyplot as plt

    distortions = sweep_names(results)
    figure, axes = plt.subplots(1, len(distortions), figsize=(4.2 * len(distortions), 4.0), squeeze=False)
    for axis, distortion in zip(axes[0], distortions):
        table = results[f"accuracy_{distortion}"] * 100
        levels = table[f"{distortion}_level"].values
        for network in [n for n in networks if n in results.network.values]:
            values = table.sel(network=network)
            mean, sd = values.mean("trial").values, values.std("trial", ddof=1).values  # NaN (no band) for 1 trial
            axis.plot(levels, mean, marker="o", label=model_name(network))
            axis.fill_between(levels, mean - sd, mean + sd, alpha=0.2)
        axis.set(
            title=distortion_name(distortion), xlabel=distortion_axis(distortion), ylabel="accuracy (%)", ylim=(0, 101)
        )
        axis.grid(alpha=0.3)
    handles, labels = axes[0][0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="lower center", ncol=len(labels), frameon=False)
    figure.suptitle(f"{results.attrs.get('name', '')}: {_spread(results.sizes['trial'])}")
    save_figure(figure, path, rect=(0, 0.08, 1, 1))


def _spread(trials: int) -> str:
    return f"mean ± sd over {trials} trials" if trials > 1 else "one trial (no spread)"


def plot_figure3(results: xr.Dataset, path) -> None:
    """Mean accuracy over trials and intensities, every model x distortion, as a heat map."""
    import matplotlib.pyplot as plt

    distortions = sweep_names(results)
    table = np.array(
        [
            [float(results[f"accuracy_{d}"].sel(network=n).mean()) * 100 for d in distortions]
            for n in results.network.values
        ]
    )
    figure, axis = plt.subplots(
        figsize=(1.8 * len(distortions) + 4, 0.45 * len(table) + 2.2), layout="constrained"
    )  # constrained: room for the colour bar's label
    image = axis.imshow(table, cmap="viridis", vmin=0, vmax=100, aspect="auto")
    axis.set_xticks(range(len(distortions)), [distortion_name(d) for d in distortions], rotation=20)
    axis.set_yticks(range(len(table)), [model_name(n) for n in results.network.values])
    axis.set(xlabel="distortion (mean over its intensities, 0 included)", ylabel="model")
    for (row, col), value in np.ndenumerate(table):
        axis.text(col, row, f"{value:.1f}", ha="center", va="center", color="white" if value < 60 else "black")
    figure.colorbar(image, label="accuracy (%)")
    trials = results.sizes["trial"]
    axis.set_title(f"{results.attrs.get('name', '')}: accuracy, mean over {trials} trial{'s' * (trials > 1)}")
    figure.savefig(path, dpi=DPI)
    plt.close(figure)


def _section(title: str, header: str, results: xr.Dataset, variable: str) -> list[str]:
    """A table of ``variable``: one row per model, then one per paired difference to the baseline."""
    networks = list(results.network.values)
    others = [n for n in networks if n != "baseline"] if "baseline" in networks else []
    rows = [(model_name(n), results[variable].sel(network=n) * 100, False) for n in networks]
    rows += [(f"{model_name(n)} − baseline", paired_gain(results, variable, n), True) for n in others]
    lines = ["", f"## {title}", "", header, "|---|" + "---|" * (header.count("|") - 2)]
    for name, per_trial, signed in rows:
        columns = [per_trial.isel({d: k}) for d in per_trial.dims if d != "trial" for k in range(per_trial.sizes[d])]
        cells = [summarise(c.values).text(signed=signed, note=False) for c in columns or [per_trial]]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def markdown_table(results: xr.Dataset, dataset: str) -> str:
    """Accuracy per model, distortion and level, paired differences to the baseline, then the paper's claims."""
    trials = results.sizes["trial"]
    how = "mean ± sd [95 % t-interval] over trials" if trials > 1 else f"one trial ({NO_INTERVAL})"
    lines = [
        f"# {results.attrs.get('name', '')}: {trials} trial(s)",
        "",
        f"Accuracy in %, {how}. Differences to the baseline are paired by trial (same seed and test images), "
        "in points.",
    ]
    lines += _section("clean test set", "| model | clean |", results, "accuracy_clean")
    for distortion in sweep_names(results):
        levels = " | ".join(f"{v:g}" for v in results[f"{distortion}_level"].values)
        header = f"| model \\ {distortion_axis(distortion)} | {levels} |"
        lines += _section(distortion_name(distortion), header, results, f"accuracy_{distortion}")
    lines += ["", "## Paper claims vs this run", ""]
    claims = run_claims(results, dataset)
    lines += claims_table(claims) if claims else [f"(no claims of the paper for dataset '{dataset}')"]
    return "\n".join(lines) + "\n"
