"""Integrate-and-fire neurons of the sleep phase (Algorithm 1 of both papers).

Per time step, in layer order:

    v <- decay * v + alpha * I        (I: summed weights of this step's presynaptic spikes)
    spike if v > threshold            (the paper; the authors' code uses >=)
    on a spike: v <- 0                (hard reset, no refractory period)

``alpha`` is the layer's data-based normalisation factor times the global
scale ("synaptic AMPA current"). The update is written as a discrete map, not
an ODE: Brian2 runs it once per step with ``run_regularly`` in the slot the
backend (``bio_sleep.sleep.brian2_network``) gives it, so that a spike
crosses every layer within one step. ``s`` flags "spiked in this step"; the
STDP rule reads it from the presynaptic side.
"""

INTEGRATE_AND_FIRE = """
v : 1                      # membrane potential
I : 1                      # summed weights of the spikes that arrived this step
s : 1                      # 1 if the neuron spiked in this step, else 0
decay : 1 (shared)         # membrane decay per step, in (0, 1]
alpha : 1 (shared)         # impulse scale: normalisation factor x alpha_scale
threshold : 1 (shared)     # firing threshold (beta of the layer)
"""

# Written as two products and one sum, in this order, so that the torch
# reference can repeat the same floating point operations (no fused multiply-add).
STEP_UPDATE = """
v = decay * v + alpha * I
I = 0
s = 0
"""

THRESHOLDS = {"above": "v > threshold", "at_or_above": "v >= threshold"}

RESET = """
v = 0
s = 1
"""

# Average pooling units (equations.pooling) reset by subtraction of one mean
# spike: the overshoot is kept, so their spike count is the window's mean count
# (rounded down) rather than less.
SUBTRACTIVE_RESET = """
v = v - 1
s = 1
"""

# A layer's reset, named by its connection kind (converters.spiking_network).
RESETS = {"zero": RESET, "subtract": SUBTRACTIVE_RESET}

# The input layer replays a precomputed Bernoulli spike raster (see
# bio_sleep.sleep.input_spikes): drawn once from the run's seed, it makes a run
# reproducible on every Brian2 target and identical to the torch reference's input.
INPUT_NEURON = "s : 1"
INPUT_THRESHOLD = "input_spikes(t, i) > 0.5"
INPUT_RESET = "s = 1"
