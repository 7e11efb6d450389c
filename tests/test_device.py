"""device = "auto": CUDA where the machine has it, the CPU otherwise; the CUDA path agrees with the CPU one."""

import numpy as np
import pytest
import torch

from bio_sleep.attacks import run_attack
from bio_sleep.config import SleepConfig, config_from_dict
from bio_sleep.data import load_dataset
from bio_sleep.errors import BioSleepError
from bio_sleep.evaluation import accuracy_sweep
from bio_sleep.models import train_control
from bio_sleep.models.device import on_device, torch_device
from bio_sleep.sleep import sleep_model

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
without_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")

SMALL = {"data": {"patches_train_copies": 20, "patches_test_copies": 20}, "training": {"epochs": 2}}


def _experiment(device: str):
    return config_from_dict({**SMALL, "training": {**SMALL["training"], "device": device}})


def test_auto_is_cuda_exactly_where_cuda_exists():
    assert torch_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert torch_device("cpu") == torch.device("cpu")
    assert _experiment("auto").training.device == "auto"  # the default config's value, validated


@without_cuda
def test_cuda_without_cuda_is_one_clear_error():
    with pytest.raises(BioSleepError, match="has 0 CUDA device"):
        torch_device("cuda")
    with pytest.raises(BioSleepError, match=r"training.device: 'cuda' but this machine has 0 CUDA device\(s\)"):
        _experiment("cuda")


def test_on_device_puts_the_model_back():
    model = torch.nn.Linear(3, 2, bias=False)
    with on_device(model, "auto") as device:
        assert model.weight.device.type == device.type
    assert model.weight.device.type == "cpu"


@needs_cuda
def test_cuda_training_evaluation_attack_and_sleep_agree_with_the_cpu():
    experiment = _experiment("cpu")
    data = load_dataset(experiment.data)
    models = {device: train_control(_experiment(device), data, progress=False) for device in ("cpu", "cuda")}
    for name, value in models["cpu"].state_dict().items():
        assert models["cuda"].state_dict()[name].device.type == "cpu"  # handed back on the CPU
        torch.testing.assert_close(models["cuda"].state_dict()[name], value, rtol=1e-4, atol=1e-6)
    model = models["cpu"]
    sweeps = {"gaussian_noise": [0.0, 0.3]}
    sweep = {
        d: accuracy_sweep({"m": model}, data.x_test, data.y_test, sweeps, device=d, progress=False) for d in models
    }
    np.testing.assert_allclose(sweep["cuda"].accuracy_gaussian_noise, sweep["cpu"].accuracy_gaussian_noise, atol=0.01)
    attack = {
        d: run_attack("fgsm", model, data.x_test[:40], data.y_test[:40], n_classes=4, device=d, progress=False)
        for d in models
    }
    assert all(p.device.type == "cpu" for p in model.parameters())  # ART ran on a copy
    np.testing.assert_allclose(attack["cuda"].eta.values, attack["cpu"].eta.values, atol=1e-4)
    slept = {
        d: sleep_model(model, data.x_train, SleepConfig(backend="torch", torch_device=d, steps=300), progress=False)
        for d in models
    }
    for cpu, cuda in zip(slept["cpu"].after.weights, slept["cuda"].after.weights):
        np.testing.assert_allclose(cuda, cpu, rtol=1e-9, atol=1e-12)
