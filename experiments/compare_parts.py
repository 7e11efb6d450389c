"""Which attack parts of two robustness run folders are bit-identical, and which data variables differ.

    python experiments/compare_parts.py experiments/results/robustness_mnist_3seeds \
        experiments/results/robustness_mnist_3seeds_calibrated --skip sleep

Two folders with the same seeds and settings should agree on every network they share (control,
distillation, fine-tuning); a part that differs was made by different code or is not deterministic. Each line
also names the code version that made the part in each folder, as its manifest records it ("unrecorded" for
parts written before bio-sleep recorded code versions).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import xarray as xr

from bio_sleep.robustness.study import NETWORKS


def differing_variables(a: xr.Dataset, b: xr.Dataset) -> list[str]:
    """Numeric data variables of ``a`` whose values differ in ``b`` (NaN equal to NaN)."""
    numeric = [name for name in a.data_vars if name in b and a[name].dtype.kind in "fiub"]
    return [name for name in numeric if not np.array_equal(a[name].values, b[name].values, equal_nan=True)]


def code_of(folder: Path) -> dict[str, str]:
    """Part name -> the code version that made it, from the folder's manifest."""
    files = json.loads((folder / "manifest.json").read_text())["files"]
    return {Path(name).name: entry.get("code", "unrecorded") for name, entry in files.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("first", type=Path)
    parser.add_argument("second", type=Path)
    parser.add_argument("--skip", action="append", default=[], help="leave out parts whose name contains this")
    args = parser.parse_args()
    names = sorted(
        path.name
        for path in (args.first / "parts").glob("*.nc")
        if path.stem.endswith(tuple(f"_{network}" for network in NETWORKS))  # attack parts, not a seed's results
        and (args.second / "parts" / path.name).exists()
        and not any(word in path.name for word in args.skip)
    )
    identical = 0
    codes = code_of(args.first), code_of(args.second)
    for name in names:
        diff = differing_variables(
            xr.load_dataset(args.first / "parts" / name), xr.load_dataset(args.second / "parts" / name)
        )
        identical += not diff
        made_by = " vs ".join(code.get(name, "unlisted") for code in codes)
        print(f"{name}: {'identical' if not diff else 'differs in ' + ', '.join(diff)} (code {made_by})")
    print(f"{identical} of {len(names)} shared parts identical")


if __name__ == "__main__":
    main()
