"""Figures 2 and 3 of the CNN paper and a markdown table of the measured numbers next to its claims."""

from __future__ import annotations

import numpy as np
import xarray as xr

from bio_sleep.plotting import distortion_axis, distortion_name, model_name, save_figure

# Section III-A/B of the paper, per dataset: largest SRC gain over baseline at high distortion, clean drop after SRC.
PAPER_CLAIMS = {"mnist": {"src_gain": 15.0, "clean_drop": 1.5}, "cifar10": {"src_gain": 10.0, "clean_drop": 10.0}}


def _distortions(results: xr.Dataset) -> list[str]:
    return [
        n.removeprefix("accuracy_") for n in results.data_vars if n.startswith("accuracy_") and n != "accuracy_clean"
    ]


def plot_figure2(results: xr.Dataset, path, networks=("baseline", "src", "src_fff")) -> None:
    """Accuracy vs intensity per distortion; lines are means over trials, bands one standard deviation."""
    import matplotlib.pyplot as plt

    distortions = _distortions(results)
    figure, axes = plt.subplots(1, len(distortions), figsize=(4.2 * len(distortions), 4.0), squeeze=False)
    for axis, distortion in zip(axes[0], distortions):
        table = results[f"accuracy_{distortion}"] * 100
        levels = table[f"{distortion}_level"].values
        for network in [n for n in networks if n in results.network.values]:
            values = table.sel(network=network)
            mean, sd = values.mean("trial").values, values.std("trial").values
            axis.plot(levels, mean, marker="o", label=model_name(network))
            axis.fill_between(levels, mean - sd, mean + sd, alpha=0.2)
        axis.set(
            title=distortion_name(distortion), xlabel=distortion_axis(distortion), ylabel="accuracy (%)", ylim=(0, 101)
        )
        axis.grid(alpha=0.3)
    handles, labels = axes[0][0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="lower center", ncol=len(labels), frameon=False)
    figure.suptitle(f"{results.attrs.get('name', '')}: mean ± sd over {results.sizes['trial']} trials")
    save_figure(figure, path, rect=(0, 0.08, 1, 1))


def plot_figure3(results: xr.Dataset, path) -> None:
    """Mean accuracy over trials and intensities, every model x distortion, as a heat map."""
    import matplotlib.pyplot as plt

    distortions = _distortions(results)
    table = np.array(
        [
            [float(results[f"accuracy_{d}"].sel(network=n).mean()) * 100 for d in distortions]
            for n in results.network.values
        ]
    )
    figure, axis = plt.subplots(figsize=(1.6 * len(distortions) + 3, 0.45 * len(table) + 1.5))
    image = axis.imshow(table, cmap="viridis", vmin=0, vmax=100, aspect="auto")
    axis.set_xticks(range(len(distortions)), [distortion_name(d) for d in distortions], rotation=20)
    axis.set_yticks(range(len(table)), [model_name(n) for n in results.network.values])
    for (row, col), value in np.ndenumerate(table):
        axis.text(col, row, f"{value:.1f}", ha="center", va="center", color="white" if value < 60 else "black")
    figure.colorbar(image, label="accuracy (%), mean over intensities and trials")
    save_figure(figure, path)


def markdown_table(results: xr.Dataset, dataset: str) -> str:
    """Mean ± sd accuracy per model, distortion and level, then the paper's claims against what was measured."""
    lines = [
        f"# {results.attrs.get('name', '')}: {results.sizes['trial']} trial(s)",
        "",
        "Accuracy in %, mean ± sd over trials.",
        "",
    ]
    networks = list(results.network.values)
    clean = results["accuracy_clean"] * 100
    lines += ["| model | clean |", "|---|---|"]
    lines += [
        f"| {n} | {float(clean.sel(network=n).mean()):.2f} ± {float(clean.sel(network=n).std()):.2f} |"
        for n in networks
    ]
    for distortion in _distortions(results):
        table = results[f"accuracy_{distortion}"] * 100
        levels = table[f"{distortion}_level"].values
        lines += [
            "",
            f"## {distortion}",
            "",
            "| model | " + " | ".join(f"{v:g}" for v in levels) + " |",
            "|---|" + "---|" * len(levels),
        ]
        for n in networks:
            row = table.sel(network=n)
            lines.append(
                f"| {n} | "
                + " | ".join(f"{m:.1f} ± {s:.1f}" for m, s in zip(row.mean("trial").values, row.std("trial").values))
                + " |"
            )
    lines += ["", "## Paper claims vs this run", ""]
    claims = PAPER_CLAIMS.get(dataset)
    if claims and {"baseline", "src"} <= set(networks):
        gains = {
            d: float(
                (
                    (
                        results[f"accuracy_{d}"].sel(network="src") - results[f"accuracy_{d}"].sel(network="baseline")
                    ).mean("trial")
                    * 100
                ).max()
            )
            for d in _distortions(results)
        }
        drop = float((clean.sel(network="baseline") - clean.sel(network="src")).mean())
        lines += [
            "| claim | paper | measured |",
            "|---|---|---|",
            f"| largest SRC gain over baseline (points, any distortion level) | up to ~{claims['src_gain']:g} | "
            + ", ".join(f"{d}: {g:+.1f}" for d, g in gains.items())
            + " |",
            f"| clean accuracy drop after SRC (points) | ~{claims['clean_drop']:g} | {drop:+.2f} |",
        ]
        if "src_fff" in networks:
            recovered = float((clean.sel(network="src_fff") - clean.sel(network="baseline")).mean())
            lines.append(f"| clean accuracy of SRC+FFF minus baseline (points) | ~0 (recovered) | {recovered:+.2f} |")
    else:
        lines.append("(needs the baseline and src models)")
    return "\n".join(lines) + "\n"
