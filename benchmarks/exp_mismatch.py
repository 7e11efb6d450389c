"""How often this CPU's numpy float64 exp differs from the C library's, and what that did to the weight factor.

    python benchmarks/exp_mismatch.py

Prints, for 200,000 weights uniform in [-0.06, 0.06] (t = -w / 0.001 in [-60, 60]): the fraction of t where
``numpy.exp`` and ``math.exp`` (the C library's) differ, how many weight factors computed with numpy's exp
differ from ``equations.weight_factor`` (the IEEE-exact one that Brian2 compiles too), and the time of both
factors on 70,000 weights (one step of the MNIST benchmark network). On CPUs without a SIMD exp in numpy
the first two numbers are usually 0.
"""

from __future__ import annotations

import math
import timeit

import numpy as np

from bio_sleep.equations.weight_factor import FACTOR_WIDTH, weight_factor


def numpy_exp_factor(w: np.ndarray) -> np.ndarray:
    return 2.0 * (1.0 - 1.0 / (1.0 + np.exp(-w / FACTOR_WIDTH)))


def main() -> None:
    w = np.random.default_rng(0).uniform(-0.06, 0.06, 200_000)
    t = -w / FACTOR_WIDTH
    libm = np.array([math.exp(x) for x in t])
    print(f"numpy exp != C library exp: {np.mean(np.exp(t) != libm):.2%} of {len(t):,} inputs")
    print(f"factors that differ with numpy's exp: {np.count_nonzero(numpy_exp_factor(w) != weight_factor(w)):,}")
    step = w[:70_000]
    for name, factor in (("numpy exp", numpy_exp_factor), ("IEEE-exact", weight_factor)):
        seconds = min(timeit.repeat(lambda f=factor: f(step), number=50, repeat=5)) / 50
        print(f"{name} factor on 70,000 weights: {seconds * 1e3:.2f} ms")


if __name__ == "__main__":
    main()
