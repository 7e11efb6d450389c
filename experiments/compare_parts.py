"""Which attack parts of two robustness run folders are bit-identical, and which data variables differ.

    python experiments/compare_parts.py experiments/results/robustness_mnist_3seeds \
        experiments/results/robustness_mnist_3seeds_calibrated --skip sleep

Two folders with the same seeds and settings should agree on every network they share (control,
distillation, fine-tuning); a part that differs was made by different code or is not deterministic.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import xarray as xr


def differing_variables(a: xr.Dataset, b: xr.Dataset) -> list[str]:
    """Numeric data variables of ``a`` whose values differ in ``b`` (NaN equal to NaN)."""
    numeric = [name for name in a.data_vars if name in b and a[name].dtype.kind in "fiub"]
    return [name for name in numeric if not np.array_equal(a[name].values, b[name].values, equal_nan=True)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("first", type=Path)
    parser.add_argument("second", type=Path)
    parser.add_argument("--skip", action="append", default=[], help="leave out parts whose name contains this")
    args = parser.parse_args()
    names = sorted(
        path.name
        for path in (args.first / "parts").glob("*.nc")
        if (args.second / "parts" / path.name).exists() and not any(word in path.name for word in args.skip)
    )
    identical = 0
    for name in names:
        diff = differing_variables(
            xr.load_dataset(args.first / "parts" / name), xr.load_dataset(args.second / "parts" / name)
        )
        identical += not diff
        print(f"{name}: {'identical' if not diff else 'differs in ' + ', '.join(diff)}")
    print(f"{identical} of {len(names)} shared parts identical")


if __name__ == "__main__":
    main()
