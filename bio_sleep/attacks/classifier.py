"""The bridge from a torch model to ART, and the checks made before any attack runs."""

from __future__ import annotations

import contextlib
import copy

import numpy as np
import torch
from torch import nn

from bio_sleep.errors import BioSleepError
from bio_sleep.models.device import torch_device


class Float32Input(nn.Module):
    """Casts inputs to float32 before the model.

    ART's BoundaryAttack hands float64 arrays to the estimator under numpy 2
    (``expected m1 and m2 to have the same dtype``); casting here avoids it.
    """

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x.float())


def data_range(data) -> tuple[float, float]:
    """The range attacks keep inputs in: [0, 1] for images, the data's own range for feature vectors."""
    if data.image_shape is not None:
        return (0.0, 1.0)
    return (float(min(data.x_train.min(), data.x_test.min())), float(max(data.x_train.max(), data.x_test.max())))


def check_inputs(x: torch.Tensor, clip: tuple[float, float]) -> None:
    """Inputs must be a finite 2-D batch inside the clip range the attacks keep them in."""
    if x.ndim != 2:
        raise BioSleepError(f"attacks take flattened inputs (samples x features), got shape {tuple(x.shape)}")
    low, high = float(x.min()), float(x.max())
    if not np.isfinite([low, high]).all() or low < clip[0] or high > clip[1]:
        raise BioSleepError(
            f"inputs span [{low:.4g}, {high:.4g}], outside the clip range [{clip[0]}, {clip[1]}]; "
            f"rescale the inputs or set attacks.clip to cover them"
        )


@torch.no_grad()
def check_scores(model: nn.Module, x: torch.Tensor, n_classes: int) -> None:
    """The model must give one unnormalised score per class: ART's attacks need logits, not probabilities."""
    model.eval()
    try:
        outputs = model(x[:32].float())
    except RuntimeError as error:
        raise BioSleepError(f"the model cannot take inputs of {x.shape[1]} features: {error}") from None
    if outputs.ndim != 2 or outputs.shape[1] != n_classes:
        raise BioSleepError(
            f"the model outputs shape {tuple(outputs.shape)} but the attacks need (samples, {n_classes}) class scores"
        )
    if not torch.isfinite(outputs).all():
        raise BioSleepError("the model outputs NaN or infinite scores; check its weights")
    rows_sum_to_one = torch.allclose(outputs.sum(dim=1), torch.ones(len(outputs)), atol=1e-4)
    # Strictly positive: a well-trained ReLU output under MSE gives exact one-hot rows, which are scores, and a
    # softmax never gives an exact 0.
    if rows_sum_to_one and bool((outputs > 0).all()) and n_classes > 1:
        raise BioSleepError(
            "the model outputs probabilities (rows are non-negative and sum to 1); the attacks need logits or "
            "scores: remove the final softmax"
        )


def art_classifier(model: nn.Module, n_features: int, n_classes: int, clip: tuple[float, float], device: str = "auto"):
    """An ART ``PyTorchClassifier`` around a copy of ``model`` (float32 inputs, cross-entropy loss) on ``device``
    (``bio_sleep.models.device``), with ART's ``predict`` and ``class_gradient`` computed faster
    (``bio_sleep/attacks/fast_classifier.py``)."""
    from bio_sleep.attacks.fast_classifier import FastPyTorchClassifier

    device = torch_device(device)
    # ART moves its model to its device: a copy leaves the caller's on the CPU. ART takes the current CUDA device.
    with torch.cuda.device(device) if device.type == "cuda" else contextlib.nullcontext():
        return FastPyTorchClassifier(
            Float32Input(copy.deepcopy(model)).eval(),
            loss=nn.CrossEntropyLoss(),
            input_shape=(n_features,),
            nb_classes=n_classes,
            clip_values=(float(clip[0]), float(clip[1])),
            preprocessing=None,
            device_type="gpu" if device.type == "cuda" else "cpu",
        )
