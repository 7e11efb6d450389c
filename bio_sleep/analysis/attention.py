"""Grad-CAM attention maps (captum LayerGradCam) and the attention-overlap metric (SRC paper, Table VI).

Overlap: cosine similarity between a sample's attention map (upsampled to
the input size) and the mask of the clean input's non-zero pixels; near 1 the
network attends to the digit, near 0 elsewhere. Distorted inputs are scored
against the mask of their clean originals.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import torch
from torch import nn

from bio_sleep.errors import BioSleepError
from bio_sleep.plotting import DPI, model_name


def attention_maps(model: nn.Module, layer: nn.Module, inputs: torch.Tensor, target=None) -> torch.Tensor:
    """Grad-CAM maps (N, H, W) in [0, 1] per sample for ``target`` (default: the predicted class)."""
    from captum.attr import LayerAttribution, LayerGradCam

    if inputs.dim() != 4:
        raise BioSleepError(f"Grad-CAM needs image batches (N, C, H, W), got shape {tuple(inputs.shape)}")
    model.eval()
    if target is None:
        with torch.no_grad():
            target = model(inputs).argmax(dim=1)
    cam = LayerGradCam(model, layer).attribute(inputs, target=target, relu_attributions=True)
    cam = LayerAttribution.interpolate(cam, tuple(inputs.shape[-2:]), interpolate_mode="bilinear").sum(dim=1)
    peak = cam.flatten(1).max(dim=1).values.clamp_min(1e-12)
    return (cam / peak[:, None, None]).detach()


def attention_overlap(maps: torch.Tensor, clean_inputs: torch.Tensor) -> np.ndarray:
    """Cosine similarity between each attention map and its clean input's non-zero-pixel mask."""
    mask = (clean_inputs.abs().sum(dim=1) > 0).double().flatten(1)
    if mask.shape != maps.flatten(1).shape:
        raise BioSleepError(f"attention maps {tuple(maps.shape)} and inputs {tuple(clean_inputs.shape)} differ in size")
    return torch.nn.functional.cosine_similarity(maps.double().flatten(1), mask, dim=1, eps=1e-12).numpy()


def plot_attention(inputs: torch.Tensor, maps: dict, path, samples: int = 6, title: str = "") -> Path:
    """Input images and each model's Grad-CAM overlay, one column per sample, one row per model."""
    import matplotlib.pyplot as plt

    shown = min(samples, len(inputs))
    fig, axes = plt.subplots(
        1 + len(maps),
        shown,
        figsize=(1.5 * shown + 2.6, 1.5 * (1 + len(maps)) + 0.6),
        squeeze=False,
        layout="constrained",
    )
    images = inputs[:shown].mean(dim=1).numpy()
    for col in range(shown):
        axes[0, col].imshow(images[col], cmap="gray")
        for row, model_maps in enumerate(maps.values(), start=1):
            axes[row, col].imshow(images[col], cmap="gray")
            overlay = axes[row, col].imshow(model_maps[col].numpy(), cmap="jet", alpha=0.5, vmin=0, vmax=1)
    axes[0, 0].set_ylabel("input")
    for row, name in enumerate(maps, start=1):
        axes[row, 0].set_ylabel(textwrap.fill(model_name(name), 12))  # long names on two lines, not over the row above
    for ax in axes.ravel():
        ax.set_xticks([]), ax.set_yticks([])
    if maps:
        fig.colorbar(overlay, ax=axes.ravel().tolist(), shrink=0.8, label="Grad-CAM attention (each map scaled to 0-1)")
    fig.suptitle(title or "Grad-CAM attention on clean test images")
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return Path(path)
