"""FGSM (Goodfellow et al. 2014) through ART, in its minimal-perturbation mode.

ART's ``minimal=True`` tries eta = step, 2 step, ... up to eta_max per sample
and keeps the first adversarial image; it returns images, not eta. A sample's
eta is read back as max|x' - x| snapped to the grid, and only where the
prediction really changed; samples that never flip get eta = inf (so the
median stays honest: they need more than eta_max).
"""

from __future__ import annotations

import numpy as np
from tqdm.auto import tqdm

from bio_sleep.attacks.params import FGSMParams


def fgsm_minimal(classifier, x: np.ndarray, labels: np.ndarray, params: FGSMParams, batch_size: int = 256):
    """(adversarial images, eta per sample) for samples classified as ``labels``."""
    from art.attacks.evasion import FastGradientMethod

    attack = FastGradientMethod(
        classifier,
        eps=params.eta_max + params.eta_step / 2,
        eps_step=params.eta_step,
        minimal=True,
        batch_size=batch_size,
    )
    adversarial = attack.generate(x, y=np.eye(classifier.nb_classes, dtype=np.float32)[labels])
    flipped = classifier.predict(adversarial).argmax(axis=1) != labels
    eta = np.round(np.abs(adversarial - x).max(axis=1) / params.eta_step) * params.eta_step
    return adversarial, np.where(flipped, eta, np.inf)


def fgsm_accuracy_curve(
    classifier, x: np.ndarray, y: np.ndarray, params: FGSMParams, batch_size: int = 256, progress: bool = True
):
    """(eta grid, accuracy of x + eta sign(grad) on all samples) for Figure 1; eta 0 is clean accuracy.

    The direction sign(grad) does not depend on eta, so it is computed once and every eta's images are built
    from it as ART's ``FastGradientMethod(eps=eta).generate`` builds them (the test suite checks they are equal);
    calling ART per eta would recompute the same gradient for every point of the grid.
    """
    etas = np.round(np.arange(0.0, params.eta_max + params.curve_step / 2, params.curve_step), 6)
    targets = np.eye(classifier.nb_classes, dtype=np.float32)[y]
    direction = fgsm_direction(classifier, x, targets, batch_size)
    accuracy = []
    for eta in tqdm(etas, desc="FGSM accuracy curve", unit="eta", disable=not progress, leave=False):
        images = x if eta == 0 else fgsm_images(x, direction, float(eta), classifier.clip_values)
        accuracy.append(float((classifier.predict(images).argmax(axis=1) == y).mean()))
    return etas, np.array(accuracy)


def fgsm_direction(classifier, x: np.ndarray, targets: np.ndarray, batch_size: int) -> np.ndarray:
    """sign of the loss gradient, batch by batch as ART computes it, NaN gradients counted as 0 as ART does."""
    gradients = [
        classifier.loss_gradient(x[start : start + batch_size], targets[start : start + batch_size])
        for start in range(0, len(x), batch_size)
    ]
    return np.sign(np.nan_to_num(np.concatenate(gradients), nan=0.0)).astype(np.float32)


def fgsm_images(x: np.ndarray, direction: np.ndarray, eta: float, clip_values) -> np.ndarray:
    """x + eta direction clipped to the input range, in float32, as ART builds them (ART then projects onto the
    eta ball, which leaves such points where they are; the test suite compares with ART)."""
    images = x + eta * direction
    return images if clip_values is None else np.clip(images, *clip_values)
