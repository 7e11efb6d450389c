"""The one way from a config to a network: its untrained model and its trained control (the kind of
experiment, FC or CNN, is ``bio_sleep.config.experiment_kind``)."""

from __future__ import annotations

import torch
from torch import nn

from bio_sleep.config import experiment_kind
from bio_sleep.models.cnn import build_cnn
from bio_sleep.models.fc import build_fc
from bio_sleep.models.training import train


def build_model(experiment) -> nn.Sequential:
    """The experiment's untrained network: a CNN from ``model.layers`` or an FC net from ``model.widths``.

    Call ``torch.manual_seed`` first for a reproducible initialisation.
    """
    m = experiment.model
    if experiment_kind(experiment) == "cnn":
        return build_cnn(m.layers, tuple(m.input_shape))
    return build_fc(m.widths, m.dropout, m.output, m.init, m.init_range)


def train_control(
    experiment, data, seed: int | None = None, progress: bool = True, description: str = "control"
) -> nn.Module:
    """The control network: built and trained on ``data``'s training set as ``experiment.training`` says.

    ``seed`` (default ``experiment.seed``) fixes the initialisation and the sample order.
    """
    seed = experiment.seed if seed is None else seed
    torch.manual_seed(seed)
    t = experiment.training
    return train(
        build_model(experiment),
        data.x_train,
        data.y_train,
        epochs=t.epochs,
        learning_rate=t.learning_rate,
        momentum=t.momentum,
        batch_size=t.batch_size,
        loss=t.loss,
        n_classes=data.n_classes,
        seed=seed,
        progress=progress,
        description=description,
        device=t.device,
    )
