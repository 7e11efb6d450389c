"""Evaluation of networks: distortions, accuracy sweeps, plots."""

from bio_sleep.lazy import lazy_exports

_MODULES = {
    "DISTORTIONS": "distortions",
    "distort": "distortions",
    "accuracy_sweep": "sweeps",
    "plot_accuracy_sweep": "plots",
    "sweeps_from_config": "sweeps",
    "DISTORTION_NAMES": "levels",
}
__all__ = list(_MODULES)

__getattr__ = lazy_exports(__name__, _MODULES)
