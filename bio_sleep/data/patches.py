"""The Patches toy dataset of the ICLR 2020 paper (Section 4.3, Appendix 7.2).

Four binary 10x10 images, one per class, 25 bright pixels each. Fifteen
pixels are each shared by two classes, so a classifier must weigh the
overlap and the task is not trivial; the remaining 70 bright pixels belong to
one class only. Training and test sets are noise-free copies.
"""

from __future__ import annotations

import numpy as np
import torch

from bio_sleep.data.dataset import ArrayDataset

SIDE = 10
BRIGHT_PER_IMAGE = 25
# Pixels shared by each pair of classes: 15 in all, every class in three pairs.
SHARED_PER_PAIR = {(0, 1): 3, (2, 3): 3, (0, 2): 3, (1, 3): 2, (0, 3): 2, (1, 2): 2}


def patch_images(seed: int = 0) -> np.ndarray:
    """The four prototype images, shape (4, 100), values 0 or 1."""
    rng = np.random.default_rng(seed)
    pixels = iter(rng.permutation(SIDE * SIDE))
    images = np.zeros((4, SIDE * SIDE), dtype=np.float32)
    for (a, b), count in SHARED_PER_PAIR.items():
        for _ in range(count):
            pixel = next(pixels)
            images[a, pixel] = images[b, pixel] = 1.0
    for image in images:
        while image.sum() < BRIGHT_PER_IMAGE:
            image[next(pixels)] = 1.0
    return images


def make_patches(train_copies: int = 250, test_copies: int = 250, seed: int = 0) -> ArrayDataset:
    """Patches as an ArrayDataset: ``copies`` noise-free copies of each image, classes interleaved."""
    images = torch.from_numpy(patch_images(seed))
    labels = torch.arange(4)

    def copies(n):
        return images.repeat(n, 1), labels.repeat(n)

    x_train, y_train = copies(train_copies)
    x_test, y_test = copies(test_copies)
    return ArrayDataset("patches", x_train, y_train, x_test, y_test, (1, SIDE, SIDE), 4)
