"""Mean, sample standard deviation and a t-based 95 % interval of per-trial (per-seed) values, for every table.

Trials are independent seeds, so the interval is mean ± t(0.975, n − 1) · sd / √n. A paired difference (e.g. SRC
minus baseline of the same trial) is summarised the same way: pass the per-trial differences.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

NO_INTERVAL = "n = 1, no interval"


@dataclass(frozen=True)
class Summary:
    """``n`` values: their mean, sd (ddof 1) and 95 % t-interval ``[low, high]``; sd and interval NaN when n = 1."""

    n: int
    mean: float
    sd: float
    low: float
    high: float

    def text(self, spec: str = ".1f", signed: bool = False, note: bool = True) -> str:
        """``mean ± sd [low, high]`` in format ``spec`` (``.3g`` for small values); for a single value its mean,
        with ``(n = 1, no interval)`` if ``note``."""
        sign = "+" if signed else ""
        if self.n < 2:
            return f"{self.mean:{sign}{spec}}" + (f" ({NO_INTERVAL})" if note else "")
        return f"{self.mean:{sign}{spec}} ± {self.sd:{spec}} [{self.low:{sign}{spec}}, {self.high:{sign}{spec}}]"


def summarise(values, scale: float = 1.0) -> Summary:
    """The summary of ``values`` (one per trial) times ``scale`` (100 turns fractions into percent or points)."""
    values = np.asarray(values, dtype=float).ravel() * scale
    if values.size == 0 or np.isnan(values).any():
        raise ValueError(f"summarise needs finite per-trial values, got {values.tolist()}")
    n, mean = values.size, float(values.mean())
    if n < 2:
        return Summary(n, mean, float("nan"), float("nan"), float("nan"))
    sd = float(values.std(ddof=1))
    half = float(stats.t.ppf(0.975, n - 1)) * sd / np.sqrt(n)
    return Summary(n, mean, sd, mean - half, mean + half)
