"""Bias-free ReLU networks and their training."""
from bio_sleep.models.fc import build_fc, weight_layers
from bio_sleep.models.training import accuracy, predict, train

__all__ = ["build_fc", "weight_layers", "train", "predict", "accuracy"]
