"""DeepFool (Moosavi-Dezfooli et al. 2016) through ART, untargeted, at most ``max_iter`` iterations."""

from __future__ import annotations

import numpy as np

from bio_sleep.attacks.params import DeepFoolParams


def deepfool(classifier, x: np.ndarray, labels: np.ndarray, params: DeepFoolParams, batch_size: int = 64) -> np.ndarray:
    """Adversarial images; ART's ``epsilon`` is the overshoot (x' = x + (1 + epsilon) r)."""
    from art.attacks.evasion import DeepFool

    attack = DeepFool(
        classifier,
        max_iter=params.max_iter,
        epsilon=params.overshoot,
        nb_grads=classifier.nb_classes,
        batch_size=batch_size,
        verbose=False,
    )
    return attack.generate(x)
