"""Bias-free ReLU networks and their training."""

from bio_sleep.models.fc import build_fc, weight_layers
from bio_sleep.models.from_config import build_model, experiment_kind, train_control
from bio_sleep.models.training import accuracy, predict, train

__all__ = [
    "build_fc",
    "build_model",
    "experiment_kind",
    "train_control",
    "weight_layers",
    "train",
    "predict",
    "accuracy",
]
