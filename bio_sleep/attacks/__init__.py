"""Adversarial attacks through the Adversarial Robustness Toolbox, scored as in the ICLR 2020 paper.

``run_attack(name, model, x, y)`` (in ``run``) checks its inputs, attacks the
samples the model classifies correctly, and returns a per-sample
``xarray.Dataset`` whose attributes hold the paper's summary (score, success
rate); ``params`` holds each attack's settings.
"""

from importlib import import_module

# Each name is imported from its module on first use: reading a config needs ``params`` only, and ART with
# its dependencies takes seconds to import.
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


def __getattr__(name: str):
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_MODULES[name]}"), name)
