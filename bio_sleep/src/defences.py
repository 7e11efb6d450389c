"""Model in, model out: Feedforward Fitting and Gradient Expansion; the training set of fine-tuning on distortions."""

from __future__ import annotations

import copy

import torch
from torch import nn

from bio_sleep.evaluation.distortions import distort
from bio_sleep.models.cnn import conv_layers
from bio_sleep.models.training import train


def feedforward_fitting(
    model: nn.Module, x, y, *, epochs: int, learning_rate: float, training, seed: int, progress: bool = True
) -> nn.Module:
    """A copy of ``model`` whose FC head is retrained on clean (x, y) with every convolution frozen (Sec. III-B)."""
    fitted = copy.deepcopy(model)
    for conv in conv_layers(fitted):
        conv.weight.requires_grad_(False)
    train(
        fitted,
        x,
        y,
        epochs=epochs,
        learning_rate=learning_rate,
        momentum=training.momentum,
        batch_size=training.batch_size,
        loss=training.loss,
        seed=seed,
        progress=progress,
        description="FFF",
    )
    for conv in conv_layers(fitted):
        conv.weight.requires_grad_(True)
    return fitted


@torch.no_grad()
def gradient_expansion(model: nn.Module, alphas) -> nn.Module:
    """A copy with alpha_l added to every kernel weight >= 0 and subtracted from every negative one (Eq. 1)."""
    expanded = copy.deepcopy(model)
    convs = conv_layers(expanded)
    if len(alphas) != len(convs):
        raise ValueError(f"{len(alphas)} alphas for {len(convs)} conv layers")
    for conv, alpha in zip(convs, alphas):
        conv.weight.add_(torch.where(conv.weight >= 0, alpha, -alpha))
    return expanded


def distorted_training_set(x, y, levels: dict[str, list[float]], *, seed: int, image_shape):
    """Clean (x, y) plus one copy per level index; with several distortions each copy splits its samples among them.

    One distortion: the paper's per-distortion set (clean + six copies at six
    levels). Several: the "all distortions" set, same size, each copy's k-th
    sample distorted by distortion k mod D at that copy's level of it.
    """
    names = list(levels)
    copies = max(len(v) for v in levels.values())
    x_all = x.repeat(copies + 1, *([1] * (x.dim() - 1)))  # one allocation: CIFAR-10's set is 4.3 GB in float32
    for copy_index in range(copies):
        distorted = x_all[(copy_index + 1) * len(x) : (copy_index + 2) * len(x)]
        for d_index, name in enumerate(names):
            rows = torch.arange(d_index, len(x), len(names))
            level = levels[name][copy_index % len(levels[name])]
            distorted[rows] = distort(
                x[rows], name, level, seed=seed + 7919 * copy_index + d_index, image_shape=image_shape
            )
    return x_all, y.repeat(copies + 1)
