"""Defensive distillation (Papernot et al. 2016), with the temperature actually applied.

1. A teacher of the control's architecture is trained with softmax at
   temperature T on the one-hot labels.
2. Soft labels ``softmax(teacher(x) / T)`` are computed on the training set.
3. A student of the same architecture is trained on them, again at T.
4. The student is returned as a plain network: its forward gives z(x), i.e.
   it is deployed at T = 1.

The authors' MATLAB code never applies T (a typo, see docs/ALGORITHM_NOTES.md); the
ICLR paper's appendix 7.1 fine-tunes the teacher on the soft labels instead of
training a fresh student: ``student_init = "teacher"`` gives that variant,
``"fresh"`` (default) is Papernot's.

Training through ``z / T`` shrinks every gradient by 1/T; with the control's
learning rate and epochs nothing is learnt at T = 50 (measured on Patches:
students at chance after 20 epochs). ``scale_learning_rate`` (default) multiplies
the learning rate by T, which restores the control's gradient magnitude
(Hinton et al. 2015 scale the loss by T^2 for the same reason, for soft targets).
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from bio_sleep.errors import BioSleepError
from bio_sleep.models.device import on_device
from bio_sleep.models.fc import initialise, weight_layers
from bio_sleep.models.training import train


class TemperatureScaled(nn.Module):
    """``module(x) / temperature``: the logits a softmax at temperature T sees."""

    def __init__(self, module: nn.Module, temperature: float):
        super().__init__()
        self.module = module
        self.temperature = temperature

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.module(x) / self.temperature


def reinitialised(model: nn.Module, seed: int, init: str = "torch_default", init_range: float = 0.01) -> nn.Module:
    """A copy of ``model`` with fresh weights drawn by :func:`~bio_sleep.models.fc.initialise`.

    A final ReLU is dropped: under a softmax loss a bias-free ReLU output unit
    that goes silent never recovers (measured on Patches: students stuck at
    chance), and Papernot et al.'s networks end in logits.
    """
    clone = copy.deepcopy(model)
    if isinstance(clone, nn.Sequential) and isinstance(clone[-1], nn.ReLU):
        clone = clone[:-1]
    torch.manual_seed(seed)
    for layer in weight_layers(clone):
        initialise(layer, init, init_range)
    return clone


@torch.no_grad()
def soft_labels(
    model: nn.Module, x: torch.Tensor, temperature: float, batch_size: int = 1000, device: str = "auto"
) -> torch.Tensor:
    """``softmax(model(x) / T)`` row by row, computed on ``device``, on the CPU."""
    with on_device(model.eval(), device) as device:
        return torch.cat(
            [
                torch.softmax(model(x[i : i + batch_size].to(device)) / temperature, dim=1).cpu()
                for i in range(0, len(x), batch_size)
            ]
        )


def distill(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    temperature: float = 50.0,
    epochs: int,
    learning_rate: float,
    momentum: float,
    batch_size: int,
    n_classes: int,
    seed: int = 0,
    init: str = "torch_default",
    init_range: float = 0.01,
    student_init: str = "fresh",
    scale_learning_rate: bool = True,
    progress: bool = True,
    device: str = "auto",
) -> nn.Module:
    """A defensively distilled network of ``model``'s architecture (``model``'s weights are not used), trained
    on ``device``."""
    if temperature <= 0:
        raise BioSleepError(f"distillation temperature must be > 0, got {temperature}; the paper uses 50")
    if student_init not in ("fresh", "teacher"):
        raise BioSleepError(
            f"student_init must be 'fresh' (Papernot et al.) or 'teacher' (ICLR appendix), got '{student_init}'"
        )
    learning_rate = learning_rate * temperature if scale_learning_rate else learning_rate
    teacher = reinitialised(model, seed, init, init_range)
    train(
        TemperatureScaled(teacher, temperature),
        x,
        y,
        epochs=epochs,
        learning_rate=learning_rate,
        momentum=momentum,
        batch_size=batch_size,
        loss="cross_entropy",
        n_classes=n_classes,
        seed=seed,
        progress=progress,
        description="distillation teacher",
        device=device,
    )
    targets = soft_labels(teacher, x, temperature, device=device)
    student = reinitialised(model, seed + 1, init, init_range) if student_init == "fresh" else copy.deepcopy(teacher)
    train(
        TemperatureScaled(student, temperature),
        x,
        y,
        epochs=epochs,
        learning_rate=learning_rate,
        momentum=momentum,
        batch_size=batch_size,
        n_classes=n_classes,
        seed=seed + 1,
        targets=targets,
        progress=progress,
        description="distillation student",
        device=device,
    )
    return student.eval()
