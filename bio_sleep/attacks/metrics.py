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
    flag = {"flag_values": np.array([0, 1], dtype=np.int8)}
    return xr.Dataset(
        {
            "label": ("sample", labels, {"long_name": "true class index"}),
            "clean_prediction": ("sample", clean_pred, {"long_name": "class predicted for the clean input"}),
            "adversarial_prediction": (
                "sample",
                adversarial_pred,
                {"long_name": "class predicted for the adversarial input"},
            ),
            "correct": (
                "sample",
                correct,
                {"long_name": "clean input classified correctly", "flag_meanings": "wrong correct", **flag},
            ),
            "success": (
                "sample",
                correct & (adversarial_pred != clean_pred),
                {"long_name": "attack changed a correct prediction", "flag_meanings": "failed succeeded", **flag},
            ),
            "distance": (
                "sample",
                squared / x.shape[1],
                {"long_name": "squared L2 distance per input feature, ||x' - x||^2 / N", "units": "1"},
            ),
            "l2": ("sample", np.sqrt(squared), {"long_name": "L2 distance ||x' - x||", "units": "1"}),
        },
        coords={"sample": ("sample", np.arange(len(x)), {"long_name": "index of the attacked test sample"})},
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
