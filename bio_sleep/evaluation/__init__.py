"""Evaluation of networks: distortions, accuracy sweeps, plots."""
from bio_sleep.evaluation.distortions import DISTORTIONS, distort
from bio_sleep.evaluation.sweeps import accuracy_sweep, sweeps_from_config
from bio_sleep.evaluation.plots import plot_accuracy_sweep

__all__ = ["DISTORTIONS", "distort", "accuracy_sweep", "sweeps_from_config", "plot_accuracy_sweep"]
