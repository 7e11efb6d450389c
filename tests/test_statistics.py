"""The shared per-trial summary: mean, sd (ddof 1) and the t-based 95 % interval, and how it is written."""

import numpy as np
import pytest
from scipy import stats

from bio_sleep.statistics import summarise


def test_summary_matches_scipy_t_interval():
    values = np.array([0.91, 0.95, 0.88, 0.97, 0.93])
    summary = summarise(values, 100)
    low, high = stats.t.interval(0.95, len(values) - 1, loc=values.mean() * 100, scale=stats.sem(values * 100))
    assert summary.n == 5
    assert summary.mean == pytest.approx(92.8)
    assert summary.sd == pytest.approx(np.std(values * 100, ddof=1))
    assert (summary.low, summary.high) == pytest.approx((low, high))
    assert summary.text() == f"92.8 ± {summary.sd:.1f} [{low:.1f}, {high:.1f}]"
    assert summarise([-0.02, 0.01, -0.05], 100).text(signed=True).startswith("-2.0 ± 3.0 [-9.5, +5.5]")
    assert summarise([1e-4, 3e-4]).text(".3g") == "0.0002 ± 0.000141 [-0.00107, 0.00147]"


def test_one_trial_has_no_interval_and_bad_values_are_refused():
    single = summarise([0.5], 100)
    assert single.n == 1 and single.mean == 50.0 and np.isnan(single.sd) and np.isnan(single.low)
    assert single.text() == "50.0 (n = 1, no interval)"
    assert single.text(signed=True, note=False) == "+50.0"
    with pytest.raises(ValueError, match="finite"):
        summarise([0.1, float("nan")])
    with pytest.raises(ValueError, match="finite"):
        summarise([])
