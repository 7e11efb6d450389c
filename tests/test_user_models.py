"""A user's own model and inputs: any chain-shaped nn.Module, torchvision-shaped images, clear refusals."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from bio_sleep.config import SleepConfig
from bio_sleep.converters import as_sequential
from bio_sleep.errors import BioSleepError
from bio_sleep.sleep import sleep_model


class SmallCnn(nn.Module):
    """A forward written by hand: functional ReLU, pooling and flatten, submodules declared out of order."""

    def __init__(self):
        super().__init__()
        self.head = nn.Linear(3 * 3 * 3, 4, bias=False)  # declared first, used last
        self.conv = nn.Conv2d(1, 3, 3, bias=False)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv(x)), 2)
        return self.head(torch.flatten(x, 1))


def _sequential_twin(model: SmallCnn) -> nn.Sequential:
    return nn.Sequential(model.conv, nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), model.head)


@pytest.fixture
def images():
    return torch.rand(40, 1, 8, 8, generator=torch.Generator().manual_seed(0))


def _config():
    return SleepConfig(
        backend="torch", steps=300, thresholds=[0.3, 0.3], alpha_scale=1.0, max_rate=200.0, inc=0.01, dec=0.003
    )


def test_traced_module_sleeps_like_its_sequential_twin(images):
    torch.manual_seed(1)
    model = SmallCnn()
    traced = sleep_model(model, images, _config(), progress=False)
    twin = sleep_model(_sequential_twin(model), images.numpy(), _config(), image_shape=(1, 8, 8), progress=False)
    assert not torch.equal(traced.model.conv.weight, model.conv.weight), "sleep changed nothing"
    assert torch.equal(traced.model.conv.weight, twin.model[0].weight)
    assert torch.equal(traced.model.head.weight, twin.model[4].weight)  # forward order, not declaration order
    assert traced.recording.spikes_per_step.sum() == twin.recording.spikes_per_step.sum()
    assert isinstance(traced.model, SmallCnn)


def test_fc_model_takes_torchvision_shaped_images():
    torch.manual_seed(2)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 16, bias=False), nn.ReLU(), nn.Linear(16, 4, bias=False))
    images = torch.rand(30, 1, 8, 8, generator=torch.Generator().manual_seed(3))
    config = SleepConfig(backend="torch", steps=200, thresholds=[0.3, 0.3], max_rate=200.0)
    from_images = sleep_model(model, images, config, progress=False)
    from_vectors = sleep_model(model, images.reshape(30, -1).numpy(), config, progress=False)
    for a, b in zip(from_images.after.weights, from_vectors.after.weights):
        np.testing.assert_array_equal(a, b)


class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(8, 8, bias=False), nn.Linear(8, 4, bias=False)

    def forward(self, x):
        return self.b(F.relu(self.a(x)) + x)


class Sigmoid(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(8, 4, bias=False)

    def forward(self, x):
        return torch.sigmoid(self.a(x))


class Branching(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(8, 4, bias=False)

    def forward(self, x):
        return self.a(x) if x.sum() > 0 else -self.a(x)


@pytest.mark.parametrize(
    "model, message", [(Residual(), "not a chain: 'add"), (Sigmoid(), "'sigmoid'"), (Branching(), "could not trace")]
)
def test_models_that_are_not_chains_are_refused_by_name(model, message):
    with pytest.raises(BioSleepError, match=message):
        as_sequential(model)


def test_image_shape_that_contradicts_the_inputs_is_refused(images):
    with pytest.raises(BioSleepError, match="does not match"):
        sleep_model(SmallCnn(), images, _config(), image_shape=(1, 28, 28), progress=False)
