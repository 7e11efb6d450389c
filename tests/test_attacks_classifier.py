"""The fast ART classifier returns what ART's own PyTorchClassifier returns; Boundary is reproducible."""

import numpy as np
import pytest
import torch
from art.attacks.evasion import DeepFool, SaliencyMapMethod
from art.estimators.classification import PyTorchClassifier
from torch import nn

from bio_sleep.attacks import run_attack
from bio_sleep.attacks.classifier import Float32Input, art_classifier
from bio_sleep.models import build_fc


@pytest.fixture(scope="module")
def classifiers():
    torch.manual_seed(0)
    model = build_fc([20, 16, 12, 5], dropout=0.2, output="linear").eval()
    art = PyTorchClassifier(
        Float32Input(model).eval(),
        loss=nn.CrossEntropyLoss(),
        input_shape=(20,),
        nb_classes=5,
        clip_values=(0.0, 1.0),
        device_type="cpu",
    )
    x = np.random.default_rng(0).uniform(0, 1, (9, 20)).astype(np.float32)
    return model, art, art_classifier(model, 20, 5, (0.0, 1.0)), x


@pytest.mark.parametrize("label", [None, 3, "per_sample", "list"])
def test_class_gradient_equals_arts(classifiers, label):
    _, art, fast, x = classifiers
    if label == "per_sample":
        label = np.random.default_rng(1).integers(0, 5, len(x))
    elif label == "list":
        label = [0, 4, 4, 1, 2, 2, 3, 0, 1]
    expected = art.class_gradient(x, label=label)
    found = fast.class_gradient(x, label=label)
    assert found.shape == expected.shape and found.dtype == expected.dtype
    np.testing.assert_allclose(found, expected, rtol=1e-6, atol=1e-7)


def test_class_gradient_rejects_unknown_labels(classifiers):
    _, _, fast, x = classifiers
    with pytest.raises(ValueError, match="out of range"):
        fast.class_gradient(x, label=5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_predict_equals_arts(classifiers, dtype):
    _, art, fast, x = classifiers
    np.testing.assert_array_equal(
        fast.predict(x.astype(dtype), batch_size=4), art.predict(x.astype(dtype), batch_size=4)
    )


def test_deepfool_and_jsma_find_the_same_images_as_with_arts_classifier(classifiers):
    _, art, fast, x = classifiers
    for make in (
        lambda c: DeepFool(c, max_iter=100, epsilon=0.05, nb_grads=5, batch_size=4, verbose=False),
        lambda c: SaliencyMapMethod(c, theta=0.1, gamma=1.0, batch_size=4, verbose=False),
    ):
        targets = np.eye(5, dtype=np.float32)[np.argsort(art.predict(x), axis=1)[:, -2]]
        np.testing.assert_allclose(make(fast).generate(x, y=targets), make(art).generate(x, y=targets), atol=1e-6)


def test_boundary_is_reproducible_and_the_same_in_two_processes(classifiers):
    model, _, _, x = classifiers
    labels = torch.from_numpy(model(torch.from_numpy(x)).argmax(dim=1).numpy())
    runs = [
        run_attack(
            "boundary",
            model,
            torch.from_numpy(x[:4]),
            labels[:4],
            n_classes=5,
            params={"max_iter": 20},
            seed=3,
            progress=False,
            keep_adversarial=True,
            workers=workers,
        )
        for workers in (1, 1, 2)
    ]
    assert runs[0].success.any()
    for run in runs[1:]:
        np.testing.assert_array_equal(run.adversarial.values, runs[0].adversarial.values)


def test_capped_jsma_is_arts_jsma_when_the_caps_are_lifted(classifiers):
    from bio_sleep.attacks.jsma import CappedSaliencyMapMethod

    _, _, fast, x = classifiers
    targets = np.argsort(fast.predict(x), axis=1)[:, -2]
    expected = SaliencyMapMethod(fast, theta=0.1, gamma=1.0, batch_size=4, verbose=False).generate(
        x, y=np.eye(5, dtype=np.float32)[targets]
    )
    found = CappedSaliencyMapMethod(
        fast, theta=0.1, max_changes=10**6, max_changes_per_feature=10**6, batch_size=4
    ).generate(x, targets)
    assert (expected != x).any()
    np.testing.assert_array_equal(found, expected)


def test_capped_jsma_respects_the_papers_caps(classifiers):
    from bio_sleep.attacks.jsma import CappedSaliencyMapMethod

    _, _, fast, x = classifiers
    x = 0.5 * x  # room below clip_max, so that only the caps stop a feature
    targets = np.argsort(fast.predict(x), axis=1)[:, -2]
    uncapped = CappedSaliencyMapMethod(fast, theta=0.05, max_changes=10**6, max_changes_per_feature=10**6).generate(
        x, targets
    )
    capped = CappedSaliencyMapMethod(fast, theta=0.05, max_changes=6, max_changes_per_feature=2).generate(x, targets)
    changes = np.rint((capped - x) / 0.05)
    assert changes.max() <= 2 and (changes.sum(axis=1) <= 6).all()
    assert np.rint((uncapped - x) / 0.05).sum(axis=1).max() > 6  # the caps did bind
