"""Sleep Replay Consolidation for convolutional networks (the CNN paper): configs, defences, trials, figures."""

from bio_sleep.lazy import lazy_exports

_MODULES = {
    "SrcExperimentConfig": "config",
    "load_src_config": "config",
    "feedforward_fitting": "defences",
    "distorted_training_set": "defences",
    "gradient_expansion": "defences",
}
__all__ = list(_MODULES)

__getattr__ = lazy_exports(__name__, _MODULES)
