"""Distortions and accuracy sweeps."""

import numpy as np
import pytest
import torch

from bio_sleep.errors import BioSleepError
from bio_sleep.evaluation import accuracy_sweep, distort, plot_accuracy_sweep
from bio_sleep.models import build_fc


@pytest.mark.parametrize("name", ["gaussian_noise", "gaussian_blur", "salt_and_pepper", "speckle"])
def test_distortions_stay_in_range_and_level_zero_is_identity(name):
    x = torch.rand(20, 64)
    distorted = distort(x, name, 0.5, image_shape=(1, 8, 8))
    assert distorted.shape == x.shape and distorted.min() >= 0 and distorted.max() <= 1
    assert not torch.equal(distorted, x)
    assert torch.equal(distort(x, name, 0.0, image_shape=(1, 8, 8)), x)


def test_gaussian_noise_level_is_a_variance():
    x = torch.full((200, 100), 0.5)
    noise = distort(x, "gaussian_noise", 0.01) - x
    assert float(noise.std()) == pytest.approx(0.1, rel=0.05)


def test_blur_needs_images_and_unknown_names_are_refused():
    with pytest.raises(BioSleepError, match="feature vectors"):
        distort(torch.rand(2, 5), "gaussian_blur", 1.0)
    with pytest.raises(BioSleepError, match="unknown distortion"):
        distort(torch.rand(2, 5), "fog", 1.0)


def test_accuracy_sweep_dataset_and_plot(tmp_path):
    torch.manual_seed(0)
    models = {"a": build_fc([16, 3]), "b": build_fc([16, 3])}
    x, y = torch.rand(30, 16), torch.randint(0, 3, (30,))
    results = accuracy_sweep(
        models, x, y, {"gaussian_noise": [0.0, 0.5], "gaussian_blur": [0.0, 1.0]}, image_shape=(1, 4, 4), progress=False
    )
    assert results.accuracy_gaussian_noise.dims == ("network", "gaussian_noise_level")
    np.testing.assert_allclose(results.accuracy_gaussian_noise.sel(gaussian_noise_level=0.0), results.accuracy_clean)
    plot_accuracy_sweep(results, tmp_path / "plot.png")
    assert (tmp_path / "plot.png").stat().st_size > 1000


def test_sweeps_from_config_reads_std_as_variance_and_skips_blur_on_features():
    from bio_sleep.config import EvaluationConfig
    from bio_sleep.evaluation import sweeps_from_config

    evaluation = EvaluationConfig(noise_levels=[0.0, 0.5], noise_level_is="std", blur_sigmas=[0.0, 1.0])
    assert sweeps_from_config(evaluation, (1, 4, 4)) == {"gaussian_noise": [0.0, 0.25], "gaussian_blur": [0.0, 1.0]}
    assert sweeps_from_config(evaluation, None) == {"gaussian_noise": [0.0, 0.25]}
    assert sweeps_from_config(EvaluationConfig(noise_levels=[0.3], blur_sigmas=[]), None) == {"gaussian_noise": [0.3]}
