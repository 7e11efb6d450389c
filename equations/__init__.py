"""Brian2 models of the sleep network: what the neurons and synapses *are*.

How they are wired and run lives in ``bio_sleep.converters``; swap a model
here without touching the converter.
"""
from bio_sleep.equations.neurons import (
    INPUT_NEURON, INPUT_RESET, INPUT_THRESHOLD, INTEGRATE_AND_FIRE, RESET, STEP_UPDATE, THRESHOLDS,
)
from bio_sleep.equations.synapses import (
    CONV_ON_POST, CONV_SYNAPSE, KERNEL, KERNEL_UPDATE, ON_POST, ON_PRE, SYNAPSE, stdp_weight_factor,
)

__all__ = [
    "INPUT_NEURON", "INPUT_RESET", "INPUT_THRESHOLD", "INTEGRATE_AND_FIRE", "RESET", "STEP_UPDATE", "THRESHOLDS",
    "ON_POST", "ON_PRE", "SYNAPSE", "stdp_weight_factor",
    "CONV_ON_POST", "CONV_SYNAPSE", "KERNEL", "KERNEL_UPDATE",
]
