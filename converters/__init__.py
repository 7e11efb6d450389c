"""torch <-> spiking network: normalisation, connection kinds, unrolling, writing weights back (no simulation)."""

from bio_sleep.converters.chain import as_sequential
from bio_sleep.converters.normalisation import layer_factors
from bio_sleep.converters.spiking_network import AvgPool, Conv, Dense, Pool, SleepDynamics, SpikingNetwork
from bio_sleep.converters.to_spiking import to_spiking_network, validate_model
from bio_sleep.converters.to_spiking_cnn import cnn_to_spiking_network, conv_plasticity
from bio_sleep.converters.to_torch import to_torch

__all__ = [
    "as_sequential",
    "AvgPool",
    "Conv",
    "Dense",
    "Pool",
    "SleepDynamics",
    "SpikingNetwork",
    "cnn_to_spiking_network",
    "conv_plasticity",
    "layer_factors",
    "to_spiking_network",
    "to_torch",
    "validate_model",
]
