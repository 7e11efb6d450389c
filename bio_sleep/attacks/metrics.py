"""The ICLR 2020 paper's attack metrics (Section 5), over the samples classified correctly before the attack."""

from __future__ import annotations

import numpy as np
import xarray as xr


def per_sample(
    x: np.ndarray, adversarial: np.ndarray, labels: np.ndarray, clean_pred: np.ndarray, adversarial_pred: np.ndarray
) -> xr.Dataset:
    """Per-sample outcome; rows the model got wrong before the attack are marked and carry NaN distances."""
    correct = clean_pred == labels
    difference = (adversarial - x).astype(np.float64)
    squared = np.where(correct, (difference**2).sum(axis=1), np.nan)
    return xr.Dataset(
        {
            "label": ("sample", labels),
            "clean_prediction": ("sample", clean_pred),
            "adversarial_prediction": ("sample", adversarial_pred),
            "correct": ("sample", correct),
            "success": ("sample", correct & (adversarial_pred != clean_pred)),
            "distance": ("sample", squared / x.shape[1]),
            "l2": ("sample", np.sqrt(squared)),
        },
        coords={"sample": np.arange(len(x))},
        attrs={"distance": "||x' - x||_2^2 / N, N = number of input features"},
    )


def summarise(samples: xr.Dataset, attack: str, success_l2: float | None = None) -> dict[str, float]:
    """score (median over correct samples of eta for FGSM, of ||x'-x||^2/N otherwise), success rate, and more.

    The paper's score takes every correctly classified sample's x' as the
    attack returned it; ``score_successful`` takes only the successful ones.
    With ``success_l2`` (Boundary, Table 3) a success also needs L2 <= success_l2.
    """
    correct = samples.correct.values
    n_correct = int(correct.sum())
    success = samples.success.values
    value = samples.eta.values if attack == "fgsm" else samples.distance.values
    summary = {
        "score": float(np.median(value[correct])) if n_correct else np.nan,
        "score_successful": float(np.median(value[success])) if success.any() else np.nan,
        "success_rate": float(success.sum() / n_correct) if n_correct else np.nan,
        "n_correct": n_correct,
        "n_samples": int(len(correct)),
    }
    if success_l2 is not None:
        within = success & (np.nan_to_num(samples.l2.values, nan=np.inf) <= success_l2)
        summary["success_rate_within_l2"] = float(within.sum() / n_correct) if n_correct else np.nan
        summary["score_within_l2"] = float(np.median(value[within])) if within.any() else np.nan
    return summary
