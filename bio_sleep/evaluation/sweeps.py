"""Accuracy of several networks over distortion sweeps, as an xarray Dataset."""

from __future__ import annotations

import numpy as np
import xarray as xr
from tqdm.auto import tqdm

from bio_sleep.evaluation.distortions import distort
from bio_sleep.evaluation.levels import LEVEL_ATTRIBUTES
from bio_sleep.models.training import accuracy


def sweeps_from_config(evaluation, image_shape) -> dict[str, list[float]]:
    """The sweeps an ``[evaluation]`` section (EvaluationConfig) asks for, in the units ``distort`` reads.

    Noise levels become variances (squared when ``noise_level_is = "std"``); blur is left out for feature
    vectors (``image_shape`` None), and so is a distortion without levels.
    """
    noise = list(evaluation.noise_levels)
    sweeps = {
        "gaussian_noise": noise if evaluation.noise_level_is == "variance" else [level**2 for level in noise],
        "gaussian_blur": list(evaluation.blur_sigmas) if image_shape is not None else [],
    }
    return {name: levels for name, levels in sweeps.items() if levels}


def accuracy_sweep(
    models: dict,
    x,
    y,
    sweeps: dict[str, list[float]],
    *,
    seed: int = 0,
    image_shape=None,
    batch_size: int = 1000,
    progress: bool = True,
    device: str = "auto",
) -> xr.Dataset:
    """Accuracy of each model on clean and distorted copies of (x, y).

    ``sweeps`` maps a distortion name to its intensities. Every model sees the
    same distorted images (one draw per distortion and level, from ``seed``); they run on ``device``.
    Returns ``accuracy_clean(network)`` and ``accuracy_<distortion>(network, <distortion>_level)``.
    """
    names = list(models)
    data = {
        "accuracy_clean": (
            ("network",),
            [accuracy(models[n], x, y, batch_size, device) for n in names],
            {"long_name": "fraction of clean test samples classified correctly", "units": "1"},
        )
    }
    total = sum(len(levels) for levels in sweeps.values()) * len(names)
    with tqdm(total=total, desc="evaluation", disable=not progress, leave=False) as bar:
        for d_index, (distortion, levels) in enumerate(sweeps.items()):
            table = np.empty((len(names), len(levels)))
            for l_index, level in enumerate(levels):
                distorted = distort(x, distortion, level, seed=seed + 1000 * d_index + l_index, image_shape=image_shape)
                for m_index, name in enumerate(names):
                    table[m_index, l_index] = accuracy(models[name], distorted, y, batch_size, device)
                    bar.update()
            data[f"accuracy_{distortion}"] = (
                ("network", f"{distortion}_level"),
                table,
                {
                    "long_name": f"fraction of test samples classified correctly under {distortion.replace('_', ' ')}",
                    "units": "1",
                },
            )
    coords = {"network": names, **{f"{d}_level": list(levels) for d, levels in sweeps.items()}}
    dataset = xr.Dataset(data, coords=coords, attrs={"samples": len(x), "seed": seed})
    dataset["network"].attrs["long_name"] = "network evaluated"
    for distortion in sweeps:
        dataset[f"{distortion}_level"].attrs.update(LEVEL_ATTRIBUTES.get(distortion, {}))
    return dataset
