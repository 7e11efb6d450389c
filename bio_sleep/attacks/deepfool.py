"""DeepFool (Moosavi-Dezfooli et al. 2016) through ART, untargeted, at most ``max_iter`` iterations."""

from __future__ import annotations

import numpy as np
from tqdm.auto import tqdm

from bio_sleep.attacks.params import DeepFoolParams


def deepfool(
    classifier, x: np.ndarray, labels: np.ndarray, params: DeepFoolParams, batch_size: int = 64, progress: bool = True
) -> np.ndarray:
    """Adversarial images; ART's ``epsilon`` is the overshoot (x' = x + (1 + epsilon) r).

    ART's batches are handed over one by one (the same batches ART would make, so the same images), for a bar
    counting images.
    """
    from art.attacks.evasion import DeepFool

    attack = DeepFool(
        classifier,
        max_iter=params.max_iter,
        epsilon=params.overshoot,
        nb_grads=classifier.nb_classes,
        batch_size=batch_size,
        verbose=False,
    )
    with tqdm(total=len(x), desc="DeepFool", unit="image", disable=not progress, leave=False) as bar:
        adversarial = []
        for start in range(0, len(x), batch_size):
            adversarial.append(attack.generate(x[start : start + batch_size]))
            bar.update(len(adversarial[-1]))
    return np.concatenate(adversarial)
