"""Studies and searches over an SRC (CNN) experiment: the control CNN is trained once, each point sleeps a copy."""

import tomllib
from pathlib import Path

import numpy as np
import pytest
import torch

from bio_sleep.sleep import sleep_model
from bio_sleep.src.config import SrcExperimentConfig
from bio_sleep.studies import run_study, study_from_dict
from bio_sleep.studies.config import apply_point
from bio_sleep.studies.search import run_search, search_from_dict
from bio_sleep.studies.worker import build_model, load_data, score
from helpers import SHARED_DATA, needs_shared_mnist

EXPERIMENTS = Path(__file__).parents[1] / "experiments"


def _cnn_experiment() -> dict:
    values = tomllib.loads((EXPERIMENTS / "src_mnist_figure2.toml").read_text())
    values["data"].update(root=str(SHARED_DATA), train_samples=300, test_samples=100)
    values["model"]["layers"] = [
        {"type": "conv", "out_channels": 3, "kernel_size": 3},
        {"type": "relu"},
        {"type": "maxpool", "size": 2},
        {"type": "flatten"},
        {"type": "linear", "out_features": 10},
    ]
    values["training"].update(epochs=2, learning_rate=0.05, momentum=0.9)
    values["sleep"].update(backend="torch", thresholds=[1.0], steps=20)
    values.pop("gradient_expansion", None)  # its alphas are for two conv layers
    return values


@needs_shared_mnist
@pytest.mark.filterwarnings("ignore")
def test_study_of_a_cnn_matches_a_direct_sleep(tmp_path):
    study = study_from_dict(
        {
            "name": "cnn",
            "experiment": _cnn_experiment(),
            "points": [{"thresholds.0": 0.5, "alpha_scale": 2.78}, {"thresholds.0": 2.0, "alpha_scale": 2.78}],
            "evaluation": {"distortions": {"gaussian_blur": [2.0]}},
            "execution": {"workers": 1},
        }
    )
    assert isinstance(study.experiment, SrcExperimentConfig)
    dataset = run_study(study, tmp_path, progress=False)
    assert (dataset.status == "ok").all()
    assert dict(dataset.accuracy_gaussian_blur.sizes) == {"point": 2, "gaussian_blur_level": 1}
    assert (tmp_path / "points_distortions.png").is_file()
    # one cell redone by hand from the saved control CNN: the same sleep, the same accuracy
    state = {k: v.numpy() for k, v in torch.load(tmp_path / "control_model.pt", weights_only=True).items()}
    experiment = apply_point(study.experiment, {"thresholds.0": 2.0, "alpha_scale": 2.78})
    data = load_data(experiment)
    slept = sleep_model(
        build_model(experiment, state),
        data.x_train,
        experiment.sleep,
        seed=experiment.seed,
        image_shape=data.image_shape,
        progress=False,
    )
    direct = score(slept.model, data, study.evaluation)
    cell = dataset.sel(point=1)
    assert float(cell.accuracy_clean) == direct["accuracy_clean"]
    assert np.allclose(cell.accuracy_gaussian_blur.values, direct["accuracy_gaussian_blur"])
    assert 0.2 < float(dataset.attrs["control_accuracy_clean"]) <= 1  # the control CNN learned something


@needs_shared_mnist
@pytest.mark.filterwarnings("ignore")
def test_search_over_a_cnn_writes_an_src_config(tmp_path):
    search = search_from_dict(
        {
            "name": "cnn_search",
            "experiment": _cnn_experiment(),
            "parameters": {"thresholds.0": {"low": 0.5, "high": 3.0}},
            "trials": 2,
            "sampler": "random",
            "objective": "accuracy_gaussian_blur",
            "evaluation": {"distortions": {"gaussian_blur": [2.0]}, "split": "validation", "validation_samples": 50},
            "execution": {"workers": 1},
        }
    )
    run_search(search, tmp_path, progress=False)
    best = tomllib.loads((tmp_path / "best_config.toml").read_text())
    assert "layers" in best["model"] and 0.5 <= best["sleep"]["thresholds"][0] <= 3.0
