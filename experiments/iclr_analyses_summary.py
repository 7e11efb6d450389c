"""ICLR 2020 Figures 13-17 over seeds: the per-seed `bio-sleep analyse-run` folders gathered into one data file.

    python experiments/iclr_analyses_summary.py experiments/results/iclr_mnist_analyses

Reads ``FOLDER/seed_<k>/class_correlations.nc`` and ``digit_specific.nc`` and writes ``FOLDER/analyses.nc``:
the same variables with a ``seed`` dimension (the digit-specific layers as ``hidden_layer``, since the
correlations' ``layer`` also counts the output; their before/after as ``relative_to_sleep``).
``experiments/iclr_claims.py`` reads that file.
"""

from __future__ import annotations

import sys
from pathlib import Path

import xarray as xr

from bio_sleep.netcdf import write_netcdf
from bio_sleep.run_folder import write_atomic


def gather(folder: Path) -> xr.Dataset:
    seeds = sorted(folder.glob("seed_*"), key=lambda p: int(p.name.removeprefix("seed_")))
    if not seeds:
        raise SystemExit(f"no seed_<k>/ folders in {folder}")
    per_seed = []
    for seed in seeds:
        correlations = xr.load_dataset(seed / "class_correlations.nc")
        specific = xr.load_dataset(seed / "digit_specific.nc").rename(layer="hidden_layer", network="relative_to_sleep")
        merged = xr.merge([correlations, specific], combine_attrs="drop_conflicts")
        per_seed.append(merged.expand_dims(seed=[int(seed.name.removeprefix("seed_"))]))
    return xr.concat(per_seed, "seed", combine_attrs="drop_conflicts")


if __name__ == "__main__":
    folder = Path(sys.argv[1])
    dataset = gather(folder)
    write_atomic(folder / "analyses.nc", lambda path: write_netcdf(dataset, path))
