"""Sleep Replay Consolidation for convolutional networks (the CNN paper): configs, defences, trials, figures."""
from bio_sleep.src.config import SrcExperimentConfig, load_src_config
from bio_sleep.src.defences import distorted_training_set, feedforward_fitting, gradient_expansion

__all__ = ["SrcExperimentConfig", "load_src_config", "feedforward_fitting", "distorted_training_set",
           "gradient_expansion"]
