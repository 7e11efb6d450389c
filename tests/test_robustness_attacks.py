"""ART attacks as the ICLR 2020 study uses them: metrics, and the checks made before they run."""

import re

import numpy as np
import pytest
import torch
from torch import nn

from bio_sleep.attacks import run_attack
from bio_sleep.attacks.jsma import jsma_targets
from bio_sleep.data import make_patches
from bio_sleep.errors import BioSleepError
from bio_sleep.models import build_fc, predict, train


@pytest.fixture(scope="module")
def patches_model():
    data = make_patches(100, 1)
    torch.manual_seed(0)
    model = build_fc([100, 4], output="linear")
    train(
        model,
        data.x_train,
        data.y_train,
        epochs=5,
        learning_rate=0.1,
        momentum=0.5,
        batch_size=50,
        loss="cross_entropy",
        progress=False,
    )
    return model, data


def test_fgsm_eta_is_the_smallest_flipping_step(patches_model):
    model, data = patches_model
    x_test = 0.25 + 0.5 * data.x_test  # grey images: binary ones mostly clip FGSM's step away
    result = run_attack("fgsm", model, x_test, data.y_test, n_classes=4, params={"eta_step": 0.01}, progress=False)
    assert result.correct.all()
    finite = np.flatnonzero(np.isfinite(result.eta.values))
    assert len(finite) >= 1
    for index in finite:
        eta = float(result.eta[index])
        x = x_test[index : index + 1].clone().requires_grad_(True)
        nn.functional.cross_entropy(model(x), data.y_test[index : index + 1]).backward()
        direction = x.grad.sign()
        flipped = [
            int(predict(model, (x_test[index : index + 1] + e * direction).clamp(0, 1))) != int(data.y_test[index])
            for e in (eta - 0.01, eta)
        ]
        assert flipped == [False, True]
    assert result.attrs["score"] == pytest.approx(float(np.median(result.eta)))
    assert result.attrs["success_rate"] == len(finite) / 4


def test_fgsm_curve_images_are_arts_for_every_eta():
    """The curve computes sign(grad) once; each eta's images must equal ART's FastGradientMethod(eps=eta) bit for
    bit, on inputs that exercise clipping and ART's batching (300 samples, batches of 256)."""
    from art.attacks.evasion import FastGradientMethod

    from bio_sleep.attacks.classifier import art_classifier
    from bio_sleep.attacks.fgsm import fgsm_direction, fgsm_images

    torch.manual_seed(0)
    model = build_fc([50, 30, 5], output="linear")
    x = torch.rand(300, 50).numpy()
    x[:, :10] = 1.0  # at the top of the input range: a step up is clipped away
    targets = np.eye(5, dtype=np.float32)[np.arange(300) % 5]
    classifier = art_classifier(model, 50, 5, (0.0, 1.0))
    direction = fgsm_direction(classifier, x, targets, batch_size=256)
    for eta in (0.005, 0.1, 0.3):
        art_images = FastGradientMethod(classifier, eps=eta, batch_size=256).generate(x, y=targets)
        assert np.array_equal(fgsm_images(x, direction, eta, classifier.clip_values), art_images), eta


def test_deepfool_and_jsma_find_adversarials_with_positive_distance(patches_model, capsys):
    model, data = patches_model
    # JSMA only raises pixels: capped at 7 changes (0.7) it cannot flip these binary patches, uncapped (10) it can
    for name, params in (("deepfool", None), ("jsma", {"max_changes_per_feature": 10})):
        result = run_attack(name, model, data.x_test, data.y_test, n_classes=4, params=params, progress=False)
        assert 0 < result.attrs["success_rate"] <= 1
        assert result.attrs["score"] > 0
        success = result.success.values
        assert (result.adversarial_prediction.values[success] != result.label.values[success]).all()
        again = run_attack(name, model, data.x_test, data.y_test, n_classes=4, params=params, progress=True)
        np.testing.assert_array_equal(again.adversarial_prediction, result.adversarial_prediction)
    bars = capsys.readouterr().err
    # Each bar counts the 4 images; its first draw is always shown, later ones only when tqdm's interval allows.
    assert re.search(r"DeepFool: +0%\|[^|]*\| 0/4 \[", bars) and re.search(r"JSMA: +0%\|[^|]*\| 0/4 \[", bars)


def test_boundary_runs_on_float64_numpy_and_applies_the_l2_threshold(patches_model):
    model, data = patches_model
    result = run_attack(
        "boundary",
        model,
        data.x_test[:2],
        data.y_test[:2],
        n_classes=4,
        params={"max_iter": 5, "success_l2": 1e-9},
        progress=False,
    )
    assert result.attrs["success_rate"] > 0
    assert result.attrs["success_rate_within_l2"] == 0.0


def test_jsma_targets_second_most_likely_class():
    scores = np.array([[0.1, 0.7, 0.2], [0.5, 0.1, 0.4]])
    assert jsma_targets(scores, "second_most_likely").tolist() == [2, 2]
    random = jsma_targets(scores, "random", seed=1)
    assert (random != scores.argmax(axis=1)).all()


def test_misclassified_samples_are_left_out_of_the_metrics(patches_model):
    model, data = patches_model
    wrong = (data.y_test + 1) % 4
    y = torch.cat([data.y_test, wrong[:1]])
    x = torch.cat([data.x_test, data.x_test[:1]])
    result = run_attack("deepfool", model, x, y, n_classes=4, progress=False)
    assert result.attrs["n_correct"] == 4 and not bool(result.success[4]) and np.isnan(float(result.distance[4]))


@pytest.mark.parametrize(
    "call, message",
    [
        (dict(name="carlini"), "unknown attack"),
        (dict(params={"max_iterations": 3}), "bad parameters"),
        (dict(params={"overshoot": -1}), "bad parameters"),
        (dict(x_scale=2.0), "outside the clip range"),
        (dict(softmax=True), "probabilities"),
        (dict(n_classes=5), "class scores"),
    ],
)
def test_bad_input_is_reported_before_attacking(patches_model, call, message):
    model, data = patches_model
    if call.get("softmax"):
        model = nn.Sequential(model, nn.Softmax(dim=1))
    with pytest.raises(BioSleepError, match=message):
        run_attack(
            call.get("name", "deepfool"),
            model,
            data.x_test * call.get("x_scale", 1.0),
            data.y_test,
            n_classes=call.get("n_classes", 4),
            params=call.get("params"),
            progress=False,
        )


def test_one_hot_scores_of_a_relu_output_are_accepted():
    """A ReLU output trained to MSE on one-hot targets gives rows with exact zeros that sum to 1: scores, not
    probabilities (the check used to refuse such a network)."""
    from bio_sleep.attacks.classifier import check_scores

    model = nn.Sequential(nn.Linear(4, 4, bias=False), nn.ReLU())
    with torch.no_grad():
        model[0].weight.copy_(torch.eye(4))
    check_scores(model, torch.eye(4), n_classes=4)
    with pytest.raises(BioSleepError, match="probabilities"):
        check_scores(nn.Sequential(model, nn.Softmax(dim=1)), torch.eye(4), n_classes=4)
