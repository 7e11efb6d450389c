"""Defences against adversarial inputs; each takes a trained model and returns a new one.

Sleep itself is :func:`bio_sleep.sleep.sleep_model`; the two baselines the ICLR
2020 paper compares it with live here.
"""

from bio_sleep.defences.distillation import TemperatureScaled, distill
from bio_sleep.defences.fine_tuning import fine_tune, mixed_training_set

__all__ = ["TemperatureScaled", "distill", "fine_tune", "mixed_training_set"]
