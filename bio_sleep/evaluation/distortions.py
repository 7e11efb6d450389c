"""Image distortions, through scikit-image and torchvision; images are clipped to [0, 1], feature vectors are not.

Intensities:
- ``gaussian_noise``: the *variance* of zero-mean Gaussian noise (as the
  authors' code; the ICLR paper's text calls it a standard deviation).
- ``gaussian_blur``: the standard deviation (pixels) of the blur kernel; the
  kernel spans 2*ceil(2 sigma)+1 pixels, MATLAB imgaussfilt's default.
- ``salt_and_pepper``: the fraction of pixels replaced by 0 or 1.
- ``speckle``: the variance of multiplicative noise, x + x * n.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from skimage.util import random_noise
from torchvision.transforms.v2.functional import gaussian_blur

from bio_sleep.errors import BioSleepError
from bio_sleep.evaluation.levels import DISTORTION_NAMES


def _noise(mode: str, key: str):
    def apply(x: torch.Tensor, level: float, rng: np.random.Generator, image_shape) -> torch.Tensor:
        # Images are clipped to their range; feature vectors (no image shape) are not.
        noisy = random_noise(
            x.numpy().astype(np.float64), mode=mode, rng=rng, clip=image_shape is not None, **{key: level}
        )
        return torch.from_numpy(noisy).to(x.dtype)

    return apply


def _blur(x: torch.Tensor, sigma: float, rng, image_shape) -> torch.Tensor:
    if image_shape is None:
        raise BioSleepError(
            "gaussian_blur needs images, these inputs are feature vectors: leave blur out of the evaluation"
        )
    size = 2 * math.ceil(2 * sigma) + 1
    channels, height, width = image_shape
    if size // 2 >= min(height, width):
        size = 2 * (min(height, width) - 1) - 1  # reflect padding must stay inside the image
    images = x.reshape(-1, channels, height, width)
    return gaussian_blur(images, [size, size], [sigma, sigma]).reshape(len(x), -1).clamp(0, 1)


DISTORTIONS = {
    "gaussian_noise": _noise("gaussian", "var"),
    "gaussian_blur": _blur,
    "salt_and_pepper": _noise("s&p", "amount"),
    "speckle": _noise("speckle", "var"),
}


assert tuple(DISTORTIONS) == DISTORTION_NAMES, "a distortion needs its entry in evaluation.levels"


def distort(x: torch.Tensor, distortion: str, level: float, *, seed: int = 0, image_shape=None) -> torch.Tensor:
    """``x`` (N x D, values in [0, 1]) distorted at ``level``; level 0 returns ``x`` unchanged."""
    if distortion not in DISTORTIONS:
        raise BioSleepError(f"unknown distortion '{distortion}'; choose from {sorted(DISTORTIONS)}")
    if level < 0:
        raise BioSleepError(f"{distortion} intensity must be >= 0, got {level}")
    if level == 0:
        return x.clone()
    return DISTORTIONS[distortion](x, level, np.random.default_rng(seed), image_shape)
