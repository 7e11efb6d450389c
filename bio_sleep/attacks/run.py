"""Running an attack: ``run_attack(name, model, x, y)`` checks its inputs, attacks the samples the
model classifies correctly, and returns a per-sample ``xarray.Dataset`` whose
attributes hold the paper's summary (score, success rate).
"""

from __future__ import annotations

import time

import numpy as np
import torch
import xarray as xr

from bio_sleep.attacks.boundary import boundary
from bio_sleep.attacks.classifier import (
    art_classifier,
    check_inputs,
    check_scores,
)
from bio_sleep.attacks.deepfool import deepfool
from bio_sleep.attacks.fgsm import fgsm_accuracy_curve, fgsm_minimal
from bio_sleep.attacks.jsma import jsma
from bio_sleep.attacks.metrics import per_sample, summarise
from bio_sleep.attacks.params import PARAMS, attack_params
from bio_sleep.errors import BioSleepError

ATTACKS = tuple(PARAMS)


def check_attack_inputs(model, x: torch.Tensor, y: torch.Tensor, n_classes: int, clip: tuple[float, float]) -> None:
    """Every check made before an attack starts (shapes, clip range, scores not probabilities)."""
    if len(x) != len(y):
        raise BioSleepError(f"{len(x)} inputs but {len(y)} labels; give one label per input")
    if len(x) == 0:
        raise BioSleepError("no samples to attack")
    if clip[0] >= clip[1]:
        raise BioSleepError(f"clip range {clip} is empty; give (min, max) with min < max")
    check_inputs(x, clip)
    check_scores(model, x, n_classes)


def adversarial_examples(
    name: str,
    classifier,
    x: np.ndarray,
    labels: np.ndarray,
    params,
    *,
    seed: int = 0,
    progress: bool = True,
    workers: int = 1,
):
    """Adversarial images (and, for FGSM, each sample's eta) for samples the classifier labels ``labels``.

    ``workers``: processes for Boundary (the others run in this process).
    """
    if name == "fgsm":
        return fgsm_minimal(classifier, x, labels, params)
    if name == "deepfool":
        return deepfool(classifier, x, labels, params, progress=progress), None
    if name == "jsma":
        return jsma(classifier, x, labels, params, seed=seed, progress=progress), None
    return boundary(classifier, x, labels, params, seed=seed, progress=progress, workers=workers), None


def run_attack(
    name: str,
    model,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    n_classes: int,
    params=None,
    clip: tuple[float, float] = (0.0, 1.0),
    seed: int = 0,
    progress: bool = True,
    keep_adversarial: bool = False,
    workers: int = 1,
    device: str = "auto",
) -> xr.Dataset:
    """Attack ``model`` on (x, y) with attack ``name``; per-sample results, summary in ``attrs``.

    ``keep_adversarial`` adds the images themselves as ``adversarial(sample, feature)``; ``workers``
    processes share Boundary's images (same results as one); ``device`` is where the model runs.
    """
    params = attack_params(name, params)
    check_attack_inputs(model, x, y, n_classes, clip)
    classifier = art_classifier(model, x.shape[1], n_classes, clip, device)
    inputs, labels = x.numpy().astype(np.float32), y.numpy()
    clean_pred = classifier.predict(inputs).argmax(axis=1)
    correct = np.flatnonzero(clean_pred == labels)
    adversarial, eta = inputs.copy(), np.full(len(x), np.nan)
    start = time.perf_counter()
    if len(correct):
        found, found_eta = adversarial_examples(
            name, classifier, inputs[correct], labels[correct], params, seed=seed, progress=progress, workers=workers
        )
        adversarial[correct] = found
        if found_eta is not None:
            eta[correct] = found_eta
    seconds = time.perf_counter() - start
    samples = per_sample(inputs, adversarial, labels, clean_pred, classifier.predict(adversarial).argmax(axis=1))
    if name == "fgsm":
        samples["eta"] = ("sample", eta)
        samples["eta"].attrs["long_name"] = (
            f"smallest flipping eta on a grid of step {params.eta_step}; inf: none up to {params.eta_max}"
        )
    if keep_adversarial:
        samples["adversarial"] = (("sample", "feature"), adversarial)
    success_l2 = params.success_l2 if name == "boundary" else None
    samples.attrs.update(
        summarise(samples, name, success_l2), attack=name, seconds=seconds, params=str(params.model_dump())
    )
    return samples


def fgsm_curve(
    model,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    n_classes: int,
    params=None,
    clip: tuple[float, float] = (0.0, 1.0),
    device: str = "auto",
    progress: bool = True,
) -> xr.DataArray:
    """Accuracy against FGSM eta on all of (x, y) (Figure 1)."""
    params = attack_params("fgsm", params)
    check_attack_inputs(model, x, y, n_classes, clip)
    classifier = art_classifier(model, x.shape[1], n_classes, clip, device)
    etas, accuracy = fgsm_accuracy_curve(classifier, x.numpy().astype(np.float32), y.numpy(), params, progress=progress)
    return xr.DataArray(accuracy, coords={"eta": etas}, dims="eta", name="fgsm_accuracy")
