"""Supervised training with SGD and momentum, seeded and with a progress bar."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from bio_sleep.models.device import on_device


def _loss(outputs: torch.Tensor, labels: torch.Tensor, loss: str, n_classes: int) -> torch.Tensor:
    if loss == "mse":
        # The authors' networks (DeepLearnToolbox): ReLU output regressed onto
        # one-hot targets, loss = 1/2 * squared error summed over classes, mean over the batch.
        target = F.one_hot(labels, n_classes).to(outputs.dtype)
        return 0.5 * ((outputs - target) ** 2).sum(dim=1).mean()
    return F.cross_entropy(outputs, labels)


def train(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    epochs: int,
    learning_rate: float,
    momentum: float,
    batch_size: int,
    loss: str = "mse",
    n_classes: int | None = None,
    seed: int = 0,
    targets: torch.Tensor | None = None,
    progress: bool = True,
    description: str = "training",
    device: str = "auto",
) -> nn.Module:
    """Train ``model`` in place with SGD on ``device`` (``bio_sleep.models.device``); return it, on the
    device it came on.

    ``targets`` replaces the labels' one-hot / class targets with given soft
    targets (used by distillation-style defences) under cross-entropy.
    """
    n_classes = n_classes or int(y.max()) + 1
    generator = torch.Generator().manual_seed(seed)  # on the CPU: the same sample order on every device
    batches_per_epoch = (len(x) + batch_size - 1) // batch_size
    with (
        on_device(model, device) as device,
        tqdm(total=epochs * batches_per_epoch, desc=description, disable=not progress, leave=False) as bar,
    ):
        optimiser = torch.optim.SGD(model.parameters(), lr=learning_rate, momentum=momentum)
        model.train()
        for _ in range(epochs):
            order = torch.randperm(len(x), generator=generator)
            for start in range(0, len(x), batch_size):
                batch = order[start : start + batch_size]
                optimiser.zero_grad()
                outputs = model(x[batch].to(device))
                if targets is not None:
                    value = torch.sum(-targets[batch].to(device) * F.log_softmax(outputs, dim=1), dim=1).mean()
                else:
                    value = _loss(outputs, y[batch].to(device), loss, n_classes)
                value.backward()
                optimiser.step()
                bar.update()
                bar.set_postfix(loss=f"{value.item():.4f}", refresh=False)
    return model.eval()


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, batch_size: int = 1000, device: str = "auto") -> torch.Tensor:
    """Predicted class per row of ``x`` (model in eval mode, run on ``device``), on the CPU."""
    with on_device(model.eval(), device) as device:
        return torch.cat(
            [model(x[i : i + batch_size].to(device)).argmax(dim=1).cpu() for i in range(0, len(x), batch_size)]
        )


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 1000, device: str = "auto") -> float:
    """Fraction of ``x`` classified as ``y``."""
    return (predict(model, x, batch_size, device) == y.cpu()).double().mean().item()
