"""Evaluation of networks: distortions, accuracy sweeps, plots."""
from bio_sleep.evaluation.distortions import DISTORTIONS, distort
from bio_sleep.evaluation.sweeps import accuracy_sweep
from bio_sleep.evaluation.plots import plot_accuracy_sweep

__all__ = ["DISTORTIONS", "distort", "accuracy_sweep", "plot_accuracy_sweep"]
