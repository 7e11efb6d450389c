"""JSMA (Papernot et al. 2016a) through ART's ``SaliencyMapMethod``.

How the paper's settings (theta = 0.1, at most 500 iterations, a pixel changed
at most 7 times; appendix 7.3, following foolbox's SaliencyMapAttack) map onto
ART, which has no iteration cap and no per-pixel count:

- theta: ART adds ``theta`` in input units to the two most salient features
  per iteration; we pass ``theta * (clip_max - clip_min)``, i.e. 0.1 of the
  range as in the paper.
- 500 iterations: ART stops when the fraction of *distinct* features touched
  exceeds ``gamma``. Each iteration touches at most two new features, so
  ``gamma = min(1, 2 * max_iter / n_features)`` is the paper's budget of
  distinct features (MNIST: 1000/784 -> gamma = 1, i.e. no extra cap).
- 7 changes per pixel: not expressible. ART drops a feature from the search
  once it reaches ``clip_max``, i.e. after at most ceil(range / theta) = 10
  increases from the bottom of the range; it only ever increases features.
  ART's JSMA can thus move a pixel further (up to 1.0 instead of 0.7),
  which makes it, if anything, stronger than the paper's.
- Untargeted: ART's JSMA is targeted only; we target each sample's second
  most likely class (closest to the authors' code) or, optionally, a random
  other class (ART's default).
"""
from __future__ import annotations

import numpy as np

from bio_sleep.attacks.params import JSMAParams


def jsma_targets(scores: np.ndarray, mode: str, seed: int = 0) -> np.ndarray:
    """One target class per sample: the second highest score, or a random class other than the predicted one."""
    if mode == "second_most_likely":
        return np.argsort(scores, axis=1)[:, -2]
    predicted = scores.argmax(axis=1)
    shift = np.random.default_rng(seed).integers(1, scores.shape[1], size=len(scores))
    return (predicted + shift) % scores.shape[1]


def jsma(classifier, x: np.ndarray, labels: np.ndarray, params: JSMAParams, *, seed: int = 0,
         batch_size: int = 64) -> np.ndarray:
    """Adversarial images from ART's SaliencyMapMethod with the mapping above."""
    from art.attacks.evasion import SaliencyMapMethod

    clip_min, clip_max = classifier.clip_values
    gamma = min(1.0, 2 * params.max_iter / x.shape[1])
    attack = SaliencyMapMethod(classifier, theta=params.theta * float(clip_max - clip_min), gamma=gamma,
                               batch_size=batch_size, verbose=False)
    targets = jsma_targets(classifier.predict(x), params.target, seed)
    return attack.generate(x, y=np.eye(classifier.nb_classes, dtype=np.float32)[targets])
