"""ICLR 2020 Figure 2 (MNIST generalisation) over seeds, from `bio-sleep run` folders: data, figure, table.

    python experiments/iclr_figure2_summary.py OUT paper=RUNS/paper calibrated=RUNS/calibrated

Each SOURCE=FOLDER names a parameter source and a folder of run folders (one per seed). Writes into OUT:
``figure2.nc`` (accuracy by source, seed, network and level), ``figure2.png`` (mean ± sd over seeds,
control vs sleep per source) and ``figure2.md`` (mean over each sweep, sleep minus control paired per seed:
mean ± sd and a 95 % t-interval, in points). Each run folder's ``config.toml`` and ``summary.json`` are copied
beside them under ``runs/<source>/seed_<k>/``.
"""

from __future__ import annotations

import json
import shutil
import sys
import tomllib
from pathlib import Path

import xarray as xr

from bio_sleep.plotting import distortion_axis, distortion_name, save_figure
from bio_sleep.statistics import summarise

SWEEPS = ("gaussian_noise", "gaussian_blur")


def load(source: str, folder: Path, out: Path) -> xr.Dataset:
    runs = []
    for run in sorted(p for p in folder.iterdir() if (p / "summary.json").exists()):
        seed = tomllib.loads((run / "config.toml").read_text())["seed"]
        kept = out / "runs" / source / f"seed_{seed}"
        kept.mkdir(parents=True, exist_ok=True)
        for name in ("config.toml", "summary.json"):
            shutil.copy(run / name, kept / name)
        runs.append(xr.load_dataset(run / "results.nc").expand_dims(seed=[seed]))
    return xr.concat(runs, "seed").expand_dims(source=[source])


def table(data: xr.Dataset) -> str:
    lines = [
        f"# ICLR 2020 Figure 2, MNIST: sleep minus control over {data.sizes['seed']} seeds",
        "",
        "Accuracy in %. Control and sleep: mean ± sd over seeds; sleep − control paired per seed, in points: "
        "mean ± sd [95 % t-interval]. Noise levels are variances, blur σ in pixels; the sweep means include level 0.",
        "",
        "| source | measure | control | sleep | sleep − control |",
        "|---|---|---|---|---|",
    ]
    for source in data.source.values:
        cell = data.sel(source=source)
        measures = {"clean": cell.accuracy_clean}
        measures |= {f"mean over {distortion_name(s)}": cell[f"accuracy_{s}"].mean(f"{s}_level") for s in SWEEPS}
        for name, values in measures.items():
            control, sleep = values.sel(network="control").values, values.sel(network="sleep").values
            difference = summarise(sleep - control, 100).text(signed=True)
            lines.append(
                f"| {source} | {name} | {100 * control.mean():.1f} ± {100 * control.std(ddof=1):.1f} | "
                f"{100 * sleep.mean():.1f} ± {100 * sleep.std(ddof=1):.1f} | {difference} |"
            )
    return "\n".join(lines) + "\n"


def plot(data: xr.Dataset, path: Path) -> None:
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(SWEEPS), figsize=(5 * len(SWEEPS), 4.2), squeeze=False)
    for axis, sweep in zip(axes[0], SWEEPS):
        values = data[f"accuracy_{sweep}"] * 100
        levels = values[f"{sweep}_level"].values
        control = values.sel(network="control").isel(source=0)
        axis.errorbar(
            levels, control.mean("seed"), control.std("seed"), marker="o", color="black", label="control (no sleep)"
        )
        for source in data.source.values:
            sleep = values.sel(network="sleep", source=source)
            axis.errorbar(levels, sleep.mean("seed"), sleep.std("seed"), marker="o", label=f"sleep, {source} values")
        axis.set(title=distortion_name(sweep), xlabel=distortion_axis(sweep), ylabel="accuracy (%)", ylim=(0, 101))
        axis.grid(alpha=0.3)
    handles, labels = axes[0][0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="lower center", ncol=len(labels), frameon=False)
    figure.suptitle(f"MNIST 784-1200-1200-10, mean ± sd over {data.sizes['seed']} seeds")
    save_figure(figure, path, rect=(0, 0.08, 1, 1))


def main(out: str, sources: list[str]) -> None:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    pairs = [source.split("=", 1) for source in sources]
    data = xr.concat([load(name, Path(folder), out) for name, folder in pairs], "source")
    # The control is the same network for every source of one seed: check rather than assume.
    controls = data.accuracy_clean.sel(network="control")
    assert (controls == controls.isel(source=0)).all(), "controls differ between sources"
    data.attrs = {
        "Conventions": "CF-1.10",
        "title": "ICLR 2020 Figure 2 (MNIST generalisation) over seeds",
        "history": "python experiments/iclr_figure2_summary.py " + " ".join([str(out), *sources]),
    }
    data.to_netcdf(out / "figure2.nc")
    (out / "figure2.md").write_text(table(data))
    plot(data, out / "figure2.png")
    print(json.dumps({"written": [str(out / n) for n in ("figure2.nc", "figure2.md", "figure2.png")]}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
