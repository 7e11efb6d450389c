"""Input rasters: rates, modes, reproducibility, and the probability check."""

import numpy as np
import pytest

from bio_sleep.errors import BioSleepError
from bio_sleep.sleep.input_spikes import draw_input_spikes, probability_scale


def test_probability_conventions():
    assert probability_scale(40.0, 0.001, "paper") == pytest.approx(0.04)
    assert probability_scale(40.0, 0.001, "authors") == pytest.approx(0.08)


def test_mean_image_rates_match_probabilities():
    x = np.tile([[0.0, 0.5, 1.0]], (10, 1))
    raster = draw_input_spikes(x, 20000, 0.2, "mean_image", seed=1)
    np.testing.assert_allclose(raster.mean(axis=0), [0.0, 0.1, 0.2], atol=0.01)


def test_same_seed_same_raster_new_seed_new_raster():
    x = np.random.default_rng(0).random((5, 16))
    a, b = (draw_input_spikes(x, 100, 0.5, seed=3) for _ in range(2))
    assert np.array_equal(a, b)
    assert not np.array_equal(a, draw_input_spikes(x, 100, 0.5, seed=4))


def test_sequential_images_show_one_image_per_step():
    x = np.eye(4)
    raster = draw_input_spikes(x, 8, 1.0, "sequential_images")
    np.testing.assert_array_equal(raster, np.tile(np.eye(4, dtype=bool), (2, 1)))


def test_masked_window_keeps_one_window():
    x = np.ones((2, 36))
    raster = draw_input_spikes(x, 50, 1.0, "masked_window", image_shape=(1, 6, 6), mask_size=3)
    assert (raster.sum(axis=1) == 9).all()
    for row in raster:
        r, c = np.nonzero(row.reshape(6, 6))
        assert r.max() - r.min() == 2 and c.max() - c.min() == 2


def test_probability_above_one_is_refused():
    with pytest.raises(BioSleepError, match="spike probability per step would be 2"):
        draw_input_spikes(np.full((2, 3), 4.0), 10, 0.5)


def test_masked_window_needs_images():
    with pytest.raises(BioSleepError, match="needs images"):
        draw_input_spikes(np.ones((2, 3)), 10, 0.5, "masked_window")
