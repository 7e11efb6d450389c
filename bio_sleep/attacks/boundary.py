"""The decision-based Boundary attack (Brendel et al. 2017) through ART, untargeted.

The attack starts from a uniform random image in the clip range that the
model misclassifies (up to ``init_size`` draws), as the paper does. ART draws
that start from an unseeded generator; we draw it the same way from
``numpy.random.default_rng([seed, index])`` and hand it to ART as
``x_adv_init``, and seed numpy's global generator (ART's orthogonal steps)
with ``[seed, index]`` before each image. Each image's result thus depends
only on the seed and its index, so images can run in ``workers`` processes
with the same results as in one. ART attacks one image at a time with up to
``num_trial`` trials of ``sample_size`` candidates per iteration, so it is
slow: ``max_iter`` is configurable (paper: 1000).
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import numpy as np
import torch
from tqdm.auto import tqdm

from bio_sleep.attacks.params import BoundaryParams


def random_start(classifier, x: np.ndarray, params: BoundaryParams, rng: np.random.Generator) -> np.ndarray | None:
    """The first of ``init_size`` uniform random images the classifier does not label as it labels ``x``."""
    clip_min, clip_max = classifier.clip_values
    draws = rng.uniform(clip_min, clip_max, size=(params.init_size, *x.shape)).astype(x.dtype)
    labels = classifier.predict(np.concatenate([x[None], draws]), batch_size=params.init_size + 1).argmax(axis=1)
    found = np.flatnonzero(labels[1:] != labels[0])
    return draws[found[0]] if len(found) else None


def _attack_images(
    classifier, x: np.ndarray, indices: np.ndarray, params: BoundaryParams, seed: int, progress: bool = False
) -> np.ndarray:
    from art.attacks.evasion import BoundaryAttack

    attack = BoundaryAttack(
        classifier,
        targeted=False,
        max_iter=params.max_iter,
        num_trial=params.num_trial,
        sample_size=params.sample_size,
        init_size=params.init_size,
        batch_size=64,
        verbose=False,
    )
    adversarial = x[indices].copy()
    for row, index in enumerate(tqdm(indices, desc="boundary attack", disable=not progress, leave=False)):
        start = random_start(classifier, x[index], params, np.random.default_rng([seed, int(index)]))
        if start is None:  # no adversarial start: ART would return the image unchanged
            continue
        np.random.seed([seed, int(index)])  # ART's orthogonal steps draw from numpy's global generator
        adversarial[row] = attack.generate(x[index : index + 1], x_adv_init=start[None])[0]
    return adversarial


def boundary(
    classifier,
    x: np.ndarray,
    labels: np.ndarray,
    params: BoundaryParams,
    *,
    seed: int = 0,
    progress: bool = True,
    workers: int = 1,
) -> np.ndarray:
    """Adversarial images (the original image where no adversarial start was found).

    ``workers`` > 1 splits the images over that many spawned processes of one torch thread each (same
    results); a script calling it needs the usual ``if __name__ == "__main__":`` guard.
    """
    indices = np.arange(len(x))
    workers = max(1, min(workers, len(x)))
    if workers == 1:
        return _attack_images(classifier, x, indices, params, seed, progress)
    chunks = [indices[worker::workers] for worker in range(workers)]  # interleaved: image costs vary
    with ProcessPoolExecutor(
        workers, mp_context=get_context("spawn"), initializer=torch.set_num_threads, initargs=(1,)
    ) as pool:
        parts = pool.map(
            _attack_images, [classifier] * workers, [x] * workers, chunks, [params] * workers, [seed] * workers
        )
        adversarial = np.empty_like(x)
        for chunk, part in zip(chunks, parts):
            adversarial[chunk] = part
    return adversarial
