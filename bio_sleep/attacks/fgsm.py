"""FGSM (Goodfellow et al. 2014) through ART, in its minimal-perturbation mode.

ART's ``minimal=True`` tries eta = step, 2 step, ... up to eta_max per sample
and keeps the first adversarial image; it returns images, not eta. A sample's
eta is read back as max|x' - x| snapped to the grid, and only where the
prediction really changed; samples that never flip get eta = inf (so the
median stays honest: they need more than eta_max).
"""

from __future__ import annotations

import numpy as np

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


def fgsm_accuracy_curve(classifier, x: np.ndarray, y: np.ndarray, params: FGSMParams, batch_size: int = 256):
    """(eta grid, accuracy of x + eta sign(grad) on all samples) for Figure 1; eta 0 is clean accuracy."""
    from art.attacks.evasion import FastGradientMethod

    etas = np.round(np.arange(0.0, params.eta_max + params.curve_step / 2, params.curve_step), 6)
    targets = np.eye(classifier.nb_classes, dtype=np.float32)[y]
    accuracy = []
    for eta in etas:
        images = (
            x
            if eta == 0
            else FastGradientMethod(classifier, eps=float(eta), batch_size=batch_size).generate(x, y=targets)
        )
        accuracy.append(float((classifier.predict(images).argmax(axis=1) == y).mean()))
    return etas, np.array(accuracy)
