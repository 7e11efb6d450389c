"""Rate calibration: per-layer thresholds that give chosen firing rates during sleep.

``sleep.target_rates`` (spikes per neuron per step, one per simulated weight
layer or one for all) replaces the absolute thresholds: the configured
``thresholds`` are only where each search starts (and, for a CNN, say how many
layers are simulated). A target of 0 keeps that layer's configured threshold.
Layer l's activity depends only on the layers before it, so the layers are
calibrated in order, each with the ones before fixed, on
the network cut after layer l. Each try is one run of the torch backend in
float32 on the sleep's own input raster, with the sleep's own plasticity: STDP
silences a neuron soon after it fires (the MNIST set-up of the ICLR paper: one
spike per hidden neuron, then silence), so a plasticity-off run overestimates
the rate of the real sleep by orders of magnitude. The rate is taken over the
first ``calibration_steps`` steps (the whole sleep by default), so it is the
rate of the whole sleep, not of its start. The threshold is found by bisection
in log space (each split interpolated in log-log, which halves the number of
tries on the MNIST network) after bracketing it by factors of 4 from the start value.

Starting points (seed 0, README "Rate calibration"): the ICLR MNIST FC set-up
changes the network at ``[3e-6, 0, 0]`` (about 100 hidden_1 spikes in 27,105
steps; 1e-5 already costs 12 points of clean accuracy, and calibrating the
deeper layers too destroys it); the SRC MNIST CNN fires at ``[0.004, 0.002]``
with the paper's thresholds, and ``[0.01]`` destroys it.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace

import numpy as np

from bio_sleep.converters.spiking_network import SleepDynamics, SpikingNetwork
from bio_sleep.errors import BioSleepError
from bio_sleep.sleep.recording import SleepRecording, layer_names

# Bracketing steps the threshold by this factor; it gives up below start / BRACKET_FACTOR ** BRACKET_STEPS.
BRACKET_FACTOR = 4.0
BRACKET_STEPS = 10
# Bisection stops when the bracket is this narrow (ratio of its ends) or after this many tries per layer.
BISECTION_RATIO = 1.001
MAX_TRIES = 30


@dataclass(frozen=True)
class Calibration:
    """The thresholds found for ``targets`` (per weight layer), the rates the search measured with them,
    and (once the sleep ran) the rates achieved over the whole sleep."""

    targets: tuple[float, ...]
    thresholds: tuple[float, ...]
    search_rates: tuple[float, ...]
    tries: tuple[int, ...]
    seconds: float
    achieved_rates: tuple[float, ...] | None = None

    def with_achieved(self, recording: SleepRecording, network: SpikingNetwork) -> Calibration:
        fractions = recording.firing_fraction()
        return replace(self, achieved_rates=tuple(float(fractions[i + 1]) for i in weight_layer_indices(network)))

    def report(self, network: SpikingNetwork) -> list[dict]:
        """Per weight layer: name, target (0: not calibrated), threshold, search rate, achieved rate / target."""
        names = layer_names(len(network.sizes))
        rows = []
        for k, index in enumerate(weight_layer_indices(network)):
            achieved = self.achieved_rates[k] if self.achieved_rates is not None else None
            rows.append(
                {
                    "layer": names[index + 1],
                    "target_rate": self.targets[k],
                    "threshold": self.thresholds[k],
                    "search_rate": self.search_rates[k],
                    "achieved_rate": achieved,
                    "tries": self.tries[k],
                    "achieved_over_target": None
                    if achieved is None or not self.targets[k]
                    else achieved / self.targets[k],
                }
            )
        return rows

    def summary(self, network: SpikingNetwork) -> str:
        """A table of targets, thresholds found and rates achieved, for the log."""
        lines = [
            f"rate calibration: {sum(self.tries)} search runs in {self.seconds:.1f} s",
            f"{'layer':<10}{'target':>10}{'threshold':>12}{'search':>10}{'achieved':>10}{'/ target':>10}",
        ]
        for row in self.report(network):
            ratio = "kept" if row["achieved_over_target"] is None else f"{row['achieved_over_target']:.2f}"
            achieved = "" if row["achieved_rate"] is None else f"{row['achieved_rate']:.3g}"
            lines.append(
                f"{row['layer']:<10}{row['target_rate']:>10.3g}{row['threshold']:>12.5g}"
                f"{row['search_rate']:>10.3g}{achieved:>10}{ratio:>10}"
            )
        return "\n".join(lines)

    def applied_to(self, config):
        """``config`` (an experiment config) as it reproduces this sleep: the chosen thresholds, no targets."""
        from bio_sleep.config import with_overrides

        return with_overrides(
            config, {"sleep": {"thresholds": list(self.thresholds), "target_rates": None}}, "calibrated thresholds"
        )


def weight_layer_indices(network: SpikingNetwork) -> list[int]:
    """Indices of the network's layers with weights (pooling layers have fixed thresholds and are skipped)."""
    return [index for index, weights in enumerate(network.weights) if weights is not None]


def _targets(config, n_layers: int) -> tuple[float, ...]:
    targets = list(config.target_rates)  # SleepConfig checked: one value, or one per threshold
    return tuple(float(t) for t in (targets * n_layers if len(targets) == 1 else targets))


def _cut(network: SpikingNetwork, last: int, thresholds: list[float]) -> SpikingNetwork:
    """The network up to and including layer ``last``, with ``thresholds`` on its weight layers."""
    layer_thresholds = list(network.thresholds[: last + 1])
    for k, index in enumerate(weight_layer_indices(network)[: len(thresholds)]):
        layer_thresholds[index] = thresholds[k]
    connections = None if network.connections is None else network.connections[: last + 1]
    return SpikingNetwork(network.weights[: last + 1], network.alphas[: last + 1], tuple(layer_thresholds), connections)


class _Search:
    """Bracketing, then bisection of one layer's threshold; remembers every try."""

    def __init__(self, rate_at, start: float, target: float, tolerance: float, name: str):
        self.rate_at, self.target, self.tolerance, self.name = rate_at, target, tolerance, name
        self.tried: dict[float, float] = {}
        self.start = start

    def measure(self, threshold: float) -> float:
        self.tried[threshold] = rate = self.rate_at(threshold)
        return rate

    def hit(self, rate: float) -> bool:
        return abs(rate / self.target - 1.0) <= self.tolerance

    def best(self) -> tuple[float, float]:
        def miss(item):
            return abs(math.log(item[1] / self.target)) if item[1] > 0 else math.inf

        return min(self.tried.items(), key=miss)

    def split(self, low: float, high: float) -> float:
        """Where the rate, interpolated linearly in log-log between the bracket's ends, meets the target (kept
        in the bracket's middle 80 % so that it always shrinks); the geometric mean while an end is silent."""
        rate_low, rate_high = self.tried[low], self.tried[high]
        if rate_high <= 0 or rate_low <= rate_high:
            return math.sqrt(low * high)
        share = math.log(rate_low / self.target) / math.log(rate_low / rate_high)
        return low * (high / low) ** min(max(share, 0.1), 0.9)

    def run(self) -> tuple[float, float]:
        threshold = self.start
        rate = self.measure(threshold)
        if self.hit(rate):
            return threshold, rate
        # low: a threshold whose rate is above the target; high: one whose rate is below it.
        if rate > self.target:
            low, high = threshold, None
            while high is None and len(self.tried) < MAX_TRIES:
                threshold *= BRACKET_FACTOR
                rate = self.measure(threshold)
                if self.hit(rate):
                    return threshold, rate
                low, high = (threshold, None) if rate > self.target else (low, threshold)
        else:
            low, high = None, threshold
            floor = self.start / BRACKET_FACTOR**BRACKET_STEPS
            while low is None:
                threshold /= BRACKET_FACTOR
                if threshold < floor:
                    most = max(self.tried.values())
                    raise BioSleepError(
                        f"sleep.target_rates: {self.name} cannot reach {self.target:.3g} spikes per neuron per step; "
                        f"it reaches at most {most:.3g} even at threshold {min(self.tried):.3g} (start / "
                        f"{BRACKET_FACTOR**BRACKET_STEPS:.0f}): no input drives it harder. Lower its target, "
                        "or raise alpha_scale, the input rate (max_rate) or lower dec"
                    )
                rate = self.measure(threshold)
                if self.hit(rate):
                    return threshold, rate
                low, high = (threshold, high) if rate > self.target else (None, threshold)
        while high is not None and high / low > BISECTION_RATIO and len(self.tried) < MAX_TRIES:
            threshold = self.split(low, high)
            rate = self.measure(threshold)
            if self.hit(rate):
                return threshold, rate
            low, high = (threshold, high) if rate > self.target else (low, threshold)
        threshold, rate = self.best()
        raise BioSleepError(
            f"sleep.target_rates: no threshold of {self.name} gives {self.target:.3g} spikes per neuron per step "
            f"within {self.tolerance:.0%} after {len(self.tried)} tries; the closest is {rate:.3g} at threshold "
            f"{threshold:.6g}. The rate jumps there (too few spikes to resolve it, or STDP switches the layer off): "
            "lengthen calibration_steps, widen calibration_tolerance or choose another target"
        )


def calibrate(network: SpikingNetwork, dynamics: SleepDynamics, raster: np.ndarray, config) -> Calibration:
    """Thresholds for ``config.target_rates``, found layer by layer on ``raster`` (the sleep's input)."""
    from bio_sleep.sleep.run import simulate

    start_time = time.perf_counter()
    indices = weight_layer_indices(network)
    targets = _targets(config, len(indices))
    steps = min(config.calibration_steps or len(raster), len(raster))
    names = layer_names(len(network.sizes))
    from bio_sleep.config import config_from_dict

    # Replaced whole, not merged: the cut networks may lack layers whose potentials the sleep records.
    search_config = config_from_dict(
        {
            **config.model_dump(),
            "backend": "torch",
            "torch_dtype": "float32",
            "record_spike_trains": False,
            "record_potentials": {},
        },
        "calibration runs",
        type(config),
    )
    fewest = 2.0 / config.calibration_tolerance  # spikes that resolve a rate to the tolerance
    for target, index in zip(targets, indices):
        if 0 < target * network.sizes[index + 1] * steps < fewest:
            raise BioSleepError(
                f"sleep.target_rates: {target:.3g} spikes per neuron per step in {names[index + 1]} "
                f"({network.sizes[index + 1]} neurons) is fewer than {fewest:.0f} spikes in {steps} steps, too few "
                "to measure to calibration_tolerance; raise the target or lengthen the sleep (steps, calibration_steps)"
            )
    thresholds, search_rates, tries = [], [], []
    for k, index in enumerate(indices):
        name = names[index + 1]

        def rate_at(threshold: float, index=index) -> float:
            cut = _cut(network, index, thresholds + [threshold])
            _, recording, _ = simulate(cut, dynamics, raster[:steps], search_config, progress=False)
            return float(recording.firing_fraction()[index + 1])

        search = _Search(rate_at, float(network.thresholds[index]), targets[k], config.calibration_tolerance, name)
        if targets[k] == 0:  # not calibrated: the configured threshold, its rate measured once
            threshold, rate = search.start, search.measure(search.start)
        else:
            threshold, rate = search.run()
        thresholds.append(float(threshold))
        search_rates.append(rate)
        tries.append(len(search.tried))
    return Calibration(targets, tuple(thresholds), tuple(search_rates), tuple(tries), time.perf_counter() - start_time)


def calibrated_network(network: SpikingNetwork, calibration: Calibration) -> SpikingNetwork:
    """``network`` with the calibrated thresholds on its weight layers."""
    return _cut(network, len(network.weights) - 1, list(calibration.thresholds))
