"""Defensive distillation at temperature T and fine-tuning: model in, model out."""

import pytest
import torch

from bio_sleep.data import make_patches
from bio_sleep.defences import TemperatureScaled, distill, fine_tune, mixed_training_set
from bio_sleep.defences.distillation import reinitialised
from bio_sleep.errors import BioSleepError
from bio_sleep.evaluation import distort
from bio_sleep.models import accuracy, build_fc, train
from bio_sleep.models.fc import weight_layers


@pytest.fixture(scope="module")
def control():
    data = make_patches(100, 50)
    torch.manual_seed(0)
    model = build_fc([100, 4], output="relu")
    train(model, data.x_train, data.y_train, epochs=3, learning_rate=0.1, momentum=0.5, batch_size=50, progress=False)
    return model, data


def test_temperature_divides_the_logits():
    model = build_fc([3, 2], output="linear")
    x = torch.rand(4, 3)
    assert torch.allclose(TemperatureScaled(model, 50.0)(x), model(x) / 50.0)


def test_distilled_student_learns_at_temperature_and_is_deployed_at_one(control):
    model, data = control
    student = distill(
        model,
        data.x_train,
        data.y_train,
        temperature=50.0,
        epochs=3,
        learning_rate=0.1,
        momentum=0.5,
        batch_size=50,
        n_classes=4,
        progress=False,
    )
    assert [layer.weight.shape for layer in weight_layers(student)] == [
        layer.weight.shape for layer in weight_layers(model)
    ]
    assert not isinstance(student[-1], torch.nn.ReLU)  # logits
    assert accuracy(student, data.x_test, data.y_test) == 1.0
    assert not torch.equal(weight_layers(student)[0].weight, weight_layers(model)[0].weight)


def test_unscaled_learning_rate_at_high_temperature_learns_nothing(control):
    """Why scale_learning_rate exists: through z / 50 the gradients are too small to learn Patches."""
    model, data = control
    student = distill(
        model,
        data.x_train,
        data.y_train,
        temperature=50.0,
        epochs=3,
        learning_rate=0.1,
        momentum=0.5,
        batch_size=50,
        n_classes=4,
        scale_learning_rate=False,
        progress=False,
    )
    assert accuracy(student, data.x_test, data.y_test) < 1.0


def test_bad_distillation_settings(control):
    model, data = control
    for kwargs, message in (({"temperature": 0.0}, "temperature"), ({"student_init": "zero"}, "student_init")):
        settings = dict(temperature=50.0, epochs=1, learning_rate=0.1, momentum=0.5, batch_size=50, n_classes=4)
        settings.update(kwargs)
        with pytest.raises(BioSleepError, match=message):
            distill(model, data.x_train, data.y_train, **settings)


def test_fine_tuning_returns_a_new_model_trained_on_the_mix(control):
    model, data = control
    before = weight_layers(model)[0].weight.clone()
    noisy = distort(data.x_train, "gaussian_noise", 0.5, seed=0)
    tuned = fine_tune(
        model, *mixed_training_set(data.x_train, data.y_train, noisy, data.y_train), epochs=2, progress=False
    )
    assert torch.equal(weight_layers(model)[0].weight, before)
    assert not torch.equal(weight_layers(tuned)[0].weight, before)
    with pytest.raises(BioSleepError, match="do not match"):
        mixed_training_set(data.x_train, data.y_train, noisy[:, :50], data.y_train)


def test_fine_tuning_with_dropout_depends_on_its_seed_not_on_what_ran_before():
    data = make_patches(100, 50)
    torch.manual_seed(0)
    model = build_fc([100, 20, 4], dropout=0.5)
    tuned = {}
    for history, seed in ((1, 0), (2, 0), (1, 1)):  # a different global state before, then a different seed
        torch.manual_seed(history)
        before = torch.get_rng_state()
        tuned[history, seed] = weight_layers(fine_tune(model, data.x_train, data.y_train, seed=seed, progress=False))
        assert torch.equal(torch.get_rng_state(), before)  # the caller's generator is left as it was
    assert all(torch.equal(a.weight, b.weight) for a, b in zip(tuned[1, 0], tuned[2, 0]))
    assert not torch.equal(tuned[1, 0][0].weight, tuned[1, 1][0].weight)


@pytest.mark.parametrize("widths", [[100, 4], [784, 1200, 10]])
def test_deeplearntoolbox_init_draws_from_nnsetups_range_in_the_model_and_the_distilled_copies(widths):
    torch.manual_seed(0)
    model = build_fc(widths, init="deeplearntoolbox")
    fresh = reinitialised(model, seed=1, init="deeplearntoolbox")
    for n_in, n_out, layer, fresh_layer in zip(widths[:-1], widths[1:], weight_layers(model), weight_layers(fresh)):
        r = 4 * (6 / (n_in + n_out)) ** 0.5  # nnsetup: (rand - 0.5) * 2 * 4 * sqrt(6 / (n_out + n_in))
        for weight in (layer.weight, fresh_layer.weight):
            assert weight.abs().max() <= r
            assert weight.abs().max() > 0.95 * r
        assert not torch.equal(layer.weight, fresh_layer.weight)
