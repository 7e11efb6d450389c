"""Input spike rasters for sleep, drawn once from a seed.

Each input unit spikes in a step with probability ``scale * x`` (a Bernoulli
draw per step, the discrete-time Poisson process of the papers), where x is
what is shown that step and ``scale = f_max * dt`` (paper) or
``2 * f_max * dt`` (the authors' code). What is shown (``mode``):

- ``mean_image``: the mean training input, every step (CNN paper text;
  Patches and CUB-200 code).
- ``sequential_images``: training input k at step k, cycling (ICLR 2020 code).
- ``masked_window``: the mean image with all but one random
  ``mask_size`` x ``mask_size`` window zeroed, a new window every step (the
  later MNIST code).

The same raster feeds the Brian2 and the torch backends, so both see
identical input for a given seed.
"""

from __future__ import annotations

import numpy as np

from bio_sleep.errors import BioSleepError

CHUNK_STEPS = 4096


def probability_scale(max_rate: float, dt: float, convention: str) -> float:
    """Spike probability per step for an input of value 1."""
    return (2.0 if convention == "authors" else 1.0) * max_rate * dt


def _window_masks(rng, steps, image_shape, mask_size) -> np.ndarray:
    channels, height, width = image_shape
    if mask_size > min(height, width):
        raise BioSleepError(
            f"sleep.mask_size = {mask_size} exceeds the image side {min(height, width)}; choose a smaller window"
        )
    rows = rng.integers(0, height - mask_size + 1, size=steps)
    cols = rng.integers(0, width - mask_size + 1, size=steps)
    grid_r = np.arange(height)[None, :, None]
    grid_c = np.arange(width)[None, None, :]
    inside = (
        (grid_r >= rows[:, None, None])
        & (grid_r < rows[:, None, None] + mask_size)
        & (grid_c >= cols[:, None, None])
        & (grid_c < cols[:, None, None] + mask_size)
    )
    return np.broadcast_to(inside[:, None], (steps, channels, height, width)).reshape(steps, -1)


def draw_input_spikes(
    x_train: np.ndarray,
    steps: int,
    scale: float,
    mode: str = "mean_image",
    *,
    seed: int = 0,
    image_shape=None,
    mask_size: int = 11,
) -> np.ndarray:
    """A boolean raster of shape (steps, n_inputs) for the given input ``mode``."""
    x_train = np.asarray(x_train, dtype=np.float64)
    largest = float(x_train.max()) if mode == "sequential_images" else float(x_train.mean(axis=0).max())
    if largest * scale > 1.0:
        raise BioSleepError(
            f"inputs reach {largest:.3g}, so the spike probability per step would be {largest * scale:.3g} (> 1); "
            f"divide sleep.max_rate by at least {largest * scale:.3g} or rescale the inputs to [0, 1]"
        )
    if x_train.min() < 0:
        raise BioSleepError(
            "inputs contain negative values, which have no firing rate; shift or rescale them to [0, 1]"
        )
    if mode == "masked_window" and image_shape is None:
        raise BioSleepError(
            "input_mode = 'masked_window' needs images; these inputs are feature vectors, use 'mean_image'"
        )
    rng = np.random.default_rng(seed)
    mean_image = x_train.mean(axis=0)
    raster = np.empty((steps, x_train.shape[1]), dtype=bool)
    for start in range(0, steps, CHUNK_STEPS):
        stop = min(start + CHUNK_STEPS, steps)
        if mode == "mean_image":
            shown = mean_image[None, :]
        elif mode == "sequential_images":
            shown = x_train[np.arange(start, stop) % len(x_train)]
        elif mode == "masked_window":
            shown = mean_image[None, :] * _window_masks(rng, stop - start, image_shape, mask_size)
        else:
            raise BioSleepError(f"unknown input mode '{mode}'; use mean_image, sequential_images or masked_window")
        raster[start:stop] = rng.random((stop - start, x_train.shape[1])) < shown * scale
    return raster
