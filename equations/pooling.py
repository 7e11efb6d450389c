"""Pooling units of the sleep network: integrate-and-fire units with fixed values, fed by unit synapses.

A pooling layer has no weights and never learns; its units run the same
update as every other layer (``neurons.STEP_UPDATE``, a threshold, a reset)
with values fixed by the kind of pooling:

- max pooling: alpha 1, threshold 0.5, decay 0 (no memory), reset to 0. A
  unit spikes in a step exactly when any unit of its window does: a max over
  0/1 spike indicators is their OR.
- average pooling, the mean rate of the window. Average pooling is linear, so
  in rate-based conversion (Diehl et al. 2015, Rueckauer et al. 2017) it is a
  fixed synaptic layer of weight 1/k^2 from each of the k x k units of the
  window into an integrate-and-fire unit. Here:

  - alpha = 1/k^2: each window spike adds 1/k^2, so the potential counts
    "spikes of the mean unit";
  - decay = 1, a perfect integrator, whatever the conv layers' decay: with a
    leak lambda < 1 the charge of sparse window spikes would drain away and a
    window firing below (1 - lambda) x threshold per step would leave the
    pooled unit silent, a thresholded (nonlinear) pooling, not an average;
  - reset by subtraction, v <- v - 1: the overshoot above one mean spike is
    kept, not thrown away as a reset to 0 would (Rueckauer et al.'s remedy for
    the conversion error of reset to zero);
  - threshold = 1 - 1/(2 k^2), half a quantum below one mean spike: the
    potential only takes multiples of 1/k^2, so the unit fires exactly when
    k^2 window spikes have accumulated, under both spike conditions (v > or
    >= threshold) and with a margin of 1/(2 k^2) against rounding.

  Together: between two of its spikes the potential stays below 1, a step
  adds at most k^2 quanta (one spike per window unit), so the unit never owes
  more than one spike, and after any number of steps its spike count is
  exactly floor(window spikes / k^2): the window's mean count rounded down.
  The pooled rates stay in the units of the layer before (the mean of its
  normalised rates), so the next weight layer's normalisation factor needs no
  change: it divides by the scale of the layer before the pooling, and its own
  maximum is measured on the averaged activations of the ANN.

Numbers only: no Brian2 here, the torch reference reads these too.
"""

from __future__ import annotations

from typing import NamedTuple


class PoolingUnit(NamedTuple):
    alpha: float
    threshold: float
    decay: float
    reset: str  # a key of neurons.RESETS


MAX_POOLING_UNIT = PoolingUnit(alpha=1.0, threshold=0.5, decay=0.0, reset="zero")


def average_pooling_unit(size: int) -> PoolingUnit:
    """The unit of a size x size average pooling window."""
    quanta = size * size
    return PoolingUnit(alpha=1.0 / quanta, threshold=1.0 - 0.5 / quanta, decay=1.0, reset="subtract")
