"""The decision-based Boundary attack (Brendel et al. 2017) through ART, untargeted.

ART starts from uniform random images in the clip range (``init_size`` tries)
until one is misclassified, as the paper does. It attacks one sample at a
time with up to ``num_trial`` orthogonal trials per iteration, so it is slow:
``max_iter`` is configurable (paper: 1000).
"""
from __future__ import annotations

import numpy as np
from tqdm.auto import tqdm

from bio_sleep.attacks.params import BoundaryParams


def boundary(classifier, x: np.ndarray, labels: np.ndarray, params: BoundaryParams, *, seed: int = 0,
             progress: bool = True) -> np.ndarray:
    """Adversarial images (the original image where no adversarial start was found)."""
    from art.attacks.evasion import BoundaryAttack

    attack = BoundaryAttack(classifier, targeted=False, max_iter=params.max_iter, num_trial=params.num_trial,
                            sample_size=params.sample_size, init_size=params.init_size, batch_size=64, verbose=False)
    np.random.seed(seed)  # ART draws its random start and trials from numpy's global generator
    one_hot = np.eye(classifier.nb_classes, dtype=np.float32)[labels]
    adversarial = np.empty_like(x)
    for index in tqdm(range(len(x)), desc="boundary attack", disable=not progress, leave=False):
        adversarial[index] = attack.generate(x[index:index + 1], y=one_hot[index:index + 1])[0]
    return adversarial
