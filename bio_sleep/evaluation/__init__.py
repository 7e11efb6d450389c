"""Evaluation of networks: distortions, accuracy sweeps, plots."""

from importlib import import_module

# Imported on first use: configs read ``levels`` only, and the distortions need torch and scikit-image.
_MODULES = {
    "DISTORTIONS": "distortions",
    "distort": "distortions",
    "accuracy_sweep": "sweeps",
    "plot_accuracy_sweep": "plots",
    "sweeps_from_config": "sweeps",
    "DISTORTION_NAMES": "levels",
}
__all__ = list(_MODULES)


def __getattr__(name: str):
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_MODULES[name]}"), name)
