"""Fine-tuning, or adversarial retraining (ICLR 2020 paper, Section 3 and appendix 7.1).

The control network is trained further, at a reduced learning rate (0.05),
on its original training inputs together with perturbed copies of some of
them (from one attack or one distortion), all with their true labels.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from bio_sleep.errors import BioSleepError
from bio_sleep.models.training import train


def mixed_training_set(
    x: torch.Tensor, y: torch.Tensor, x_perturbed: torch.Tensor, y_perturbed: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """``x`` followed by ``x_perturbed``, with their labels: the set ``fine_tune`` trains on."""
    if x_perturbed.shape[1:] != x.shape[1:] or len(x_perturbed) != len(y_perturbed):
        raise BioSleepError(
            f"perturbed inputs {tuple(x_perturbed.shape)} with {len(y_perturbed)} labels do not match the "
            f"originals' shape {tuple(x.shape[1:])}; give one labelled row per perturbed sample"
        )
    return torch.cat([x, x_perturbed.to(x.dtype)]), torch.cat([y, y_perturbed.to(y.dtype)])


def fine_tune(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    epochs: int = 2,
    learning_rate: float = 0.05,
    momentum: float = 0.5,
    batch_size: int = 100,
    loss: str = "mse",
    n_classes: int | None = None,
    seed: int = 0,
    progress: bool = True,
    description: str = "fine-tuning",
    device: str = "auto",
) -> nn.Module:
    """A copy of ``model`` trained further on (x, y): clean inputs plus perturbed copies, all with true labels.

    The set comes from ``mixed_training_set`` (attacks, ICLR paper) or
    ``bio_sleep.src.defences.distorted_training_set`` (SRC paper, built in one allocation). The result depends on
    the arguments alone: dropout draws from torch's global generator, seeded here from ``seed`` and then restored.
    """
    tuned = copy.deepcopy(model)
    # Without the seed, the dropout masks would depend on what the process ran before, so a resumed robustness
    # run (which skips finished work) would tune a different network than an uninterrupted one.
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        train(
            tuned,
            x,
            y,
            epochs=epochs,
            learning_rate=learning_rate,
            momentum=momentum,
            batch_size=batch_size,
            loss=loss,
            n_classes=n_classes,
            seed=seed,
            progress=progress,
            description=description,
            device=device,
        )
    return tuned.eval()
