"""The sleep phase's Hebbian STDP rule.

On every postsynaptic spike, for each of its incoming synapses:

    w += inc   if the presynaptic neuron spiked in the same step
    w -= dec   if it did not

(``dec`` is a magnitude: the weight decreases.) ``constant`` is the papers'
rule; ``weight_dependent`` multiplies both terms by the authors' factor
f(w) = 2 (1 - sigmoid(w / 0.001)): about 2 for w < -0.005, 1 at 0, about 0 for
w > 0.005, so positive weights are nearly frozen. Presynaptic spikes add the
synapse's weight to the postsynaptic ``I``.
"""

from brian2 import check_units, implementation

from bio_sleep.equations.weight_factor import CPP_CODE, CPP_HEADERS, CYTHON_CODE, weight_factor

SYNAPSE = """
w : 1                      # weight, the torch weight itself (scaled by alpha on the postsynaptic side)
inc : 1 (shared)           # STDP increase
dec : 1 (shared)           # STDP decrease (magnitude)
"""

ON_PRE = "I_post += w"

ON_POST = {
    "constant": "w += inc * s_pre - dec * (1 - s_pre)",
    "weight_dependent": "w += (inc * s_pre - dec * (1 - s_pre)) * stdp_weight_factor(w)",
}


@implementation("cpp", CPP_CODE, headers=CPP_HEADERS)
@implementation("cython", CYTHON_CODE)
@check_units(w=1, result=1)
def stdp_weight_factor(w):
    """f(w) = 2 (1 - sigmoid(w / 0.001)), the same operations in every implementation (see ``weight_factor``)."""
    return weight_factor(w)


# Convolutions: every unrolled synapse reads one element of a shared kernel
# (a linked variable indexed by k) and adds its STDP change into that element's
# ``dk``; the kernel group then applies ``w = w + dk`` once per step, so the
# changes of all synapses sharing an element accumulate, each computed from the
# kernel as it was at the start of the step (CNN paper, Section II-C).
CONV_SYNAPSE = """
k : integer (constant)     # the kernel element this synapse reads
w : 1 (linked)             # kernel w[k]
dk : 1 (linked)            # kernel dk[k]: this step's summed STDP changes
inc : 1 (shared)
dec : 1 (shared)
"""

CONV_ON_POST = {
    "constant": "dk += inc * s_pre - dec * (1 - s_pre)",
    "weight_dependent": "dk += (inc * s_pre - dec * (1 - s_pre)) * stdp_weight_factor(w)",
}

KERNEL = """
w : 1                      # kernel element (torch weight, flattened (out, in, kh, kw))
dk : 1                     # summed change of this step
"""

KERNEL_UPDATE = """
w = w + dk
dk = 0
"""
