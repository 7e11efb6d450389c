"""JSMA (Papernot et al. 2016a) through ART's ``SaliencyMapMethod``, with the paper's caps.

The paper (appendix 7.3) ran foolbox's SaliencyMapAttack with theta = 0.1,
at most 500 iterations and a pixel changed at most 7 times. ART has neither
cap: it stops a sample only when it reaches its target, when every feature is
saturated, or when more than a fraction ``gamma`` of distinct features has
been touched. Without a cap, a sample the attack cannot flip cheaply ends up
with hundreds of saturated pixels (on the ICLR MNIST network: median
||x' − x||²/N 0.44, i.e. ~340 white pixels, and 10x the run time). So
``CappedSaliencyMapMethod`` runs ART's loop and ART's saliency map with both
caps added:

- theta: each chosen feature is increased by ``theta * (clip_max - clip_min)``
  (0.1 of the range, as in foolbox), clipped at ``clip_max``.
- 500 iterations: foolbox changes one pixel per iteration, ART two (the most
  salient pair), so a sample gets at most ``max_iter`` feature changes, i.e.
  ``max_iter // 2`` ART iterations.
- 7 changes per pixel: a feature leaves the search space after
  ``max_changes_per_feature`` increases, or earlier when it reaches
  ``clip_max`` (ART's own rule).
- Direction: ART only increases features (theta > 0); foolbox may also
  decrease them. This is the one difference left.
- Untargeted: ART's JSMA is targeted only; we target each sample's second
  most likely class (closest to the authors' code) or, optionally, a random
  other class (ART's default).

With the caps lifted, ``CappedSaliencyMapMethod`` returns exactly ART's
images (``tests/test_attacks_classifier.py`` checks it).
"""

from __future__ import annotations

import numpy as np
from art.attacks.evasion import SaliencyMapMethod
from tqdm.auto import tqdm

from bio_sleep.attacks.params import JSMAParams


class CappedSaliencyMapMethod(SaliencyMapMethod):
    """ART's SaliencyMapMethod (theta > 0, clip values required) with at most ``max_changes`` feature changes
    per sample and at most ``max_changes_per_feature`` per feature."""

    def __init__(
        self,
        classifier,
        theta: float,
        max_changes: int,
        max_changes_per_feature: int,
        batch_size: int = 64,
        progress: bool = False,
    ):
        super().__init__(classifier, theta=theta, gamma=1.0, batch_size=batch_size, verbose=False)
        self.max_changes = max_changes
        self.max_changes_per_feature = max_changes_per_feature
        self.progress = progress  # a bar counting images (ART's own, per batch, is off: ``verbose``)

    def generate(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Adversarial copies of ``x`` (n, features) aimed at the target class indices ``y``."""
        clip_max = self.estimator.clip_values[1]
        self._nb_features = x.shape[1]
        x_adv = x.astype(np.float32, copy=True)
        bar = tqdm(total=len(x_adv), desc="JSMA", unit="image", disable=not self.progress, leave=False)
        for start in range(0, len(x_adv), self.batch_size):
            batch, target = x_adv[start : start + self.batch_size], y[start : start + self.batch_size]
            changes = np.zeros(batch.shape, dtype=np.int64)
            search_space = (batch < clip_max).astype(np.float64)
            active = np.flatnonzero(self.estimator.predict(batch).argmax(axis=1) != target)
            for _ in range(self.max_changes // 2):
                if not active.size:
                    break
                pair = self._saliency_map(batch[active], target[active], search_space[active])
                for column in (0, 1):
                    batch[active, pair[:, column]] = np.minimum(clip_max, batch[active, pair[:, column]] + self.theta)
                    changes[active, pair[:, column]] += 1
                search_space[(batch == clip_max) | (changes >= self.max_changes_per_feature)] = 0
                still_off_target = self.estimator.predict(batch[active]).argmax(axis=1) != target[active]
                active = active[still_off_target & (search_space[active].sum(axis=1) > 0)]
            bar.update(len(batch))
        bar.close()
        return x_adv


def jsma_targets(scores: np.ndarray, mode: str, seed: int = 0) -> np.ndarray:
    """One target class per sample: the second highest score, or a random class other than the predicted one."""
    if mode == "second_most_likely":
        return np.argsort(scores, axis=1)[:, -2]
    predicted = scores.argmax(axis=1)
    shift = np.random.default_rng(seed).integers(1, scores.shape[1], size=len(scores))
    return (predicted + shift) % scores.shape[1]


def jsma(
    classifier,
    x: np.ndarray,
    labels: np.ndarray,
    params: JSMAParams,
    *,
    seed: int = 0,
    batch_size: int = 64,
    progress: bool = True,
) -> np.ndarray:
    """Adversarial images from ART's saliency map with the paper's caps (see the module docstring)."""
    clip_min, clip_max = classifier.clip_values
    attack = CappedSaliencyMapMethod(
        classifier,
        theta=params.theta * float(clip_max - clip_min),
        max_changes=params.max_iter,
        max_changes_per_feature=params.max_changes_per_feature,
        batch_size=batch_size,
        progress=progress,
    )
    return attack.generate(x, jsma_targets(classifier.predict(x), params.target, seed))
