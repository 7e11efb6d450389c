"""Adversarial attacks through the Adversarial Robustness Toolbox, scored as in the ICLR 2020 paper.

``run_attack(name, model, x, y)`` (in ``run``) checks its inputs, attacks the
samples the model classifies correctly, and returns a per-sample
``xarray.Dataset`` whose attributes hold the paper's summary (score, success
rate); ``params`` holds each attack's settings.
"""

from bio_sleep.lazy import lazy_exports

_MODULES = {
    "ATTACKS": "run",
    "adversarial_examples": "run",
    "check_attack_inputs": "run",
    "fgsm_curve": "run",
    "run_attack": "run",
    "data_range": "classifier",
    "attack_params": "params",
}
__all__ = list(_MODULES)

__getattr__ = lazy_exports(__name__, _MODULES)
