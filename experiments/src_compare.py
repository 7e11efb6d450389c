"""Claim-by-claim table of SRC runs against the CNN paper, rendered from their committed results.nc files.

    python experiments/src_compare.py experiments/results/src_mnist_figure2_*5trials \
        > experiments/results/src_mnist_comparison.md

Per run: the baseline's clean accuracy, SRC's clean-accuracy change, and per distortion the level where
SRC gains most over the baseline (paired per trial): mean ± sd and a 95 % t-interval of that gain, in
points. The paper reports gains of up to ~15 points on MNIST at ~1.5 points of clean accuracy.
"""

from __future__ import annotations

import sys
from pathlib import Path

import xarray as xr

from bio_sleep.src.claims import gain_verdict, largest_gain, paired_gain, sweep_names
from bio_sleep.statistics import summarise

PAPER = {"largest SRC gain (points)": "up to ~15", "clean accuracy change after SRC (points)": "about -1.5"}


def rows(folder: Path) -> list[str]:
    results = xr.load_dataset(folder / "results.nc")
    name, clean = folder.name, summarise(paired_gain(results, "accuracy_clean", "src").values)
    lines = [
        f"| {name} | clean | baseline {100 * float(results.accuracy_clean.sel(network='baseline').mean()):.2f} % | "
        f"{clean.text(signed=True)} | {PAPER['clean accuracy change after SRC (points)']} | – |"
    ]
    for distortion in sweep_names(results):
        level, gain = largest_gain(results, distortion)
        lines.append(
            f"| {name} | {distortion} | level {level:g} | {gain.text(signed=True)} | "
            f"{PAPER['largest SRC gain (points)']} | {gain_verdict(gain, 15.0)} |"
        )
    return lines


def main(folders: list[str]) -> None:
    print(
        "SRC minus baseline, paired per trial, in points: mean ± sd [95 % t-interval]. Reproduced: yes if the "
        "interval's lower end reaches half the paper's ~15-point gain, partly if it is above 0, no otherwise.\n"
    )
    print("| run | distortion | where | SRC − baseline | paper | reproduced |")
    print("|---|---|---|---|---|---|")
    for folder in folders:
        print("\n".join(rows(Path(folder))))


if __name__ == "__main__":
    main(sys.argv[1:])
