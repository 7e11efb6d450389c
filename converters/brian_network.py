"""torch -> Brian2: the sleep network as NeuronGroups and Synapses, compiled once, rerun with new values.

One NeuronGroup per layer (models from ``bio_sleep.equations``), one Synapses
object per weight matrix, connected postsynaptic-major so that the synapse
weights are ``W.ravel()`` for a torch weight W of shape (n_post, n_pre). The
input layer replays a precomputed raster through a TimedArray.

Scheduling. Brian2's default schedule (groups, thresholds, synapses, resets)
would delay each layer by one step. Algorithm 1 lets a spike cross every layer
within one step, so every operation is placed explicitly in the ``start`` slot,
in this order per layer l:

    synapses l: deliver spikes of layer l-1   (I += w)
    layer l:    v = decay * v + alpha * I
    layer l:    threshold, reset
    synapses l: STDP on the spikes of layer l (reads s_pre of layer l-1)
    kernel l:   w = w + dk (convolutions only: the shared-weight accumulation)

Convolutions and pooling (``Architecture.connections``) are unrolled into
synapses from numpy index arrays (``converters.unrolling``). A conv synapse's weight is a linked variable into a
kernel NeuronGroup of one unit per kernel element; pooling layers are
integrate-and-fire groups with unit weights and fixed run-time values: max
pooling with decay 0 and threshold 0.5 (a pooled unit spikes when any unit of
its window does), average pooling with alpha 1/k^2, decay 1, threshold
1 - 1/(2k^2) and reset by subtraction (``v = v - 1``; the pooled unit fires at
its window's mean rate, see ``AvgPool``).

Reuse. Everything that may change between runs (weights, thresholds, alphas,
decay, inc/dec, the input raster) is a variable, never a constant baked into
the code. With ``cpp_standalone`` the project is compiled once per
architecture and rerun through ``device.run(run_args=...)``; with ``cython``
the generated extensions are cached by Brian2 and only the (cheap) Python
objects are rebuilt.
"""
from __future__ import annotations

import atexit
import os
import re
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass

import numpy as np
from tqdm.auto import tqdm

from bio_sleep.converters.spiking_network import Conv, Pool, SleepDynamics, SpikingNetwork
from bio_sleep.converters.unrolling import synapse_list
from bio_sleep.equations import neurons, synapses
from bio_sleep.sleep.recording import SleepRecording

# No -ffast-math and no contraction into fused multiply-adds: the generated
# code must round exactly as the torch reference does.
COMPILE_ARGS = ["-w", "-O3", "-ffp-contract=off", "-fno-fast-math"]
PROFILE = bool(os.environ.get("BIO_SLEEP_BRIAN_PROFILE"))


@dataclass(frozen=True)
class Architecture:
    """What a compiled network depends on; any other value is set at run time."""

    sizes: tuple[int, ...]
    steps: int
    dt: float
    stdp_rule: str
    spike_condition: str
    plastic: tuple[bool, ...]
    record_trains: bool
    target: str
    connections: tuple[Conv | Pool | None, ...] | None = None   # None: all dense
    record_potentials: tuple[tuple[int, ...], ...] = ()          # per layer after the input: neurons whose v is recorded


def _configure_brian(target: str, directory: str):
    import brian2

    brian2.prefs.codegen.cpp.extra_compile_args_gcc = COMPILE_ARGS
    brian2.prefs.logging.console_log_level = "WARNING"
    if target == "cpp_standalone":
        brian2.set_device("cpp_standalone", directory=directory, build_on_run=False)
        brian2.device.reinit()
        brian2.device.activate(directory=directory, build_on_run=False)
    else:
        brian2.set_device("runtime")
        brian2.prefs.codegen.target = "cython"
    return brian2


class BrianSleepNetwork:
    """A Brian2 sleep network of one architecture, built (and for cpp_standalone compiled) once."""

    def __init__(self, arch: Architecture, directory: str | None = None):
        self.arch = arch
        if directory is None:
            # A fresh build directory per network and process: parallel workers never share one.
            directory = tempfile.mkdtemp(prefix=f"bio_sleep_brian_{os.getpid()}_")
            atexit.register(shutil.rmtree, directory, ignore_errors=True)
        self.directory = directory
        self.compile_seconds = 0.0
        if arch.target == "cpp_standalone":
            self._build(np.zeros((arch.steps, arch.sizes[0])))

    def _build(self, raster: np.ndarray) -> None:
        arch = self.arch
        b2 = _configure_brian(arch.target, self.directory)
        b2.start_scope()
        b2.defaultclock.dt = arch.dt * b2.second
        self.input_spikes = b2.TimedArray(raster.astype(np.float64), dt=arch.dt * b2.second, name="input_spikes")
        source = b2.NeuronGroup(arch.sizes[0], neurons.INPUT_NEURON, threshold=neurons.INPUT_THRESHOLD,
                                reset=neurons.INPUT_RESET, name="layer_0",
                                namespace={"input_spikes": self.input_spikes})
        clear = source.run_regularly("s = 0", when="start", order=0, name="layer_0_clear")
        source.thresholder["spike"].when = source.resetter["spike"].when = "start"
        source.thresholder["spike"].order, source.resetter["spike"].order = 1, 2
        objects = [source, clear]
        self.layers, self.synapses, self.kernels = [source], [], []
        for index, size in enumerate(arch.sizes[1:], start=1):
            connection = self._connection(index)
            reset = neurons.SUBTRACTIVE_RESET if getattr(connection, "reset_by_subtraction", False) else neurons.RESET
            group = b2.NeuronGroup(size, neurons.INTEGRATE_AND_FIRE, threshold=neurons.THRESHOLDS[arch.spike_condition],
                                   reset=reset, name=f"layer_{index}")
            update = group.run_regularly(neurons.STEP_UPDATE, when="start", order=10 * index + 1, name=f"layer_{index}_update")
            syn, kernel_objects = self._connect(b2, index, group)
            syn.pre.when = "start"
            syn.pre.order = 10 * index
            group.thresholder["spike"].when = group.resetter["spike"].when = "start"
            group.thresholder["spike"].order, group.resetter["spike"].order = 10 * index + 2, 10 * index + 3
            if hasattr(syn, "post"):  # Brian2 makes the 'post' pathway only for synapses with on_post (plastic)
                syn.post.when = "start"
                syn.post.order = 10 * index + 4
            objects += [group, update, syn] + kernel_objects
            self.layers.append(group)
            self.synapses.append(syn)
        self.spike_monitors = [b2.SpikeMonitor(g, record=arch.record_trains, when="end", name=f"spikes_{k}")
                               for k, g in enumerate(self.layers)]
        self.rate_monitors = [b2.PopulationRateMonitor(g, name=f"rate_{k}") for k, g in enumerate(self.layers)]
        self.potential_monitors = {
            layer: b2.StateMonitor(self.layers[layer], "v", record=list(indices), when="end", name=f"potential_{layer}")
            for layer, indices in enumerate(arch.record_potentials, start=1) if len(indices)}
        self.network = b2.Network(objects + self.spike_monitors + self.rate_monitors
                                  + list(self.potential_monitors.values()))
        if arch.target == "cpp_standalone":
            start = time.perf_counter()
            self.network.run(arch.steps * arch.dt * b2.second, report="text", report_period=1 * b2.second,
                             namespace={}, profile=PROFILE)
            b2.get_device().build(directory=self.directory, compile=True, run=False, with_output=False)
            self.compile_seconds = time.perf_counter() - start
        self._b2 = b2
        self.device = b2.get_device()

    def _connection(self, index: int) -> Conv | Pool | None:
        return None if self.arch.connections is None else self.arch.connections[index - 1]

    def _connect(self, b2, index: int, group) -> tuple:
        """The Synapses into layer ``index`` (and, for a convolution, its kernel group and update)."""
        arch, connection = self.arch, self._connection(index)
        plastic = arch.plastic[index - 1]
        namespace = {"stdp_weight_factor": synapses.stdp_weight_factor}
        if isinstance(connection, Conv):
            on_post = synapses.CONV_ON_POST[arch.stdp_rule] if plastic else None
            syn = b2.Synapses(self.layers[-1], group, synapses.CONV_SYNAPSE, on_pre=synapses.ON_PRE, on_post=on_post,
                              namespace=namespace, name=f"weights_{index}")
            pre, post, element = synapse_list(connection)
            syn.connect(i=pre, j=post)
            syn.k = element
            kernel = b2.NeuronGroup(int(np.prod(connection.kernel_shape)), synapses.KERNEL, name=f"kernel_{index}")
            syn.w = b2.linked_var(kernel, "w", index="k")
            syn.dk = b2.linked_var(kernel, "dk", index="k")
            update = kernel.run_regularly(synapses.KERNEL_UPDATE, when="start", order=10 * index + 5,
                                          name=f"kernel_{index}_update")
            self.kernels.append(kernel)
            return syn, [kernel, update]
        self.kernels.append(None)
        if isinstance(connection, Pool):
            syn = b2.Synapses(self.layers[-1], group, synapses.SYNAPSE, on_pre=synapses.ON_PRE, name=f"weights_{index}")
            pre, post, _ = synapse_list(connection)
            syn.connect(i=pre, j=post)
            syn.w = 1.0
            return syn, []
        on_post = synapses.ON_POST[arch.stdp_rule] if plastic else None
        syn = b2.Synapses(self.layers[-1], group, synapses.SYNAPSE, on_pre=synapses.ON_PRE, on_post=on_post,
                          namespace=namespace, name=f"weights_{index}")
        n_pre, n_post = arch.sizes[index - 1], arch.sizes[index]
        # Postsynaptic-major, like torch's weight matrix: the STDP pathway (the costly one,
        # with one weight factor per synapse) then walks contiguous memory.
        syn.connect(i=np.tile(np.arange(n_pre), n_post), j=np.repeat(np.arange(n_post), n_pre))
        return syn, []

    def _values(self, network: SpikingNetwork, dynamics: SleepDynamics, raster: np.ndarray) -> dict:
        """Run-time values keyed by the Brian2 variable they set."""
        values = {self.input_spikes: raster.astype(np.float64)}
        for index, (group, syn, kernel, weights, alpha, threshold) in enumerate(zip(
                self.layers[1:], self.synapses, self.kernels, network.weights, network.alphas, network.thresholds), start=1):
            connection = self._connection(index)
            decay = dynamics.decay
            if isinstance(connection, Conv):
                values[kernel.w] = np.ascontiguousarray(weights).ravel()
            elif isinstance(connection, Pool):
                decay = connection.decay   # 0 for max pooling, 1 for average pooling
            else:
                values[syn.w] = np.ascontiguousarray(weights).ravel()
            if "inc" in syn.variables:
                values[syn.inc], values[syn.dec] = dynamics.inc, dynamics.dec
            values[group.alpha], values[group.threshold], values[group.decay] = alpha, threshold, decay
        return values

    def run(self, network: SpikingNetwork, dynamics: SleepDynamics, raster: np.ndarray,
            progress: bool = True) -> tuple[SpikingNetwork, SleepRecording]:
        """Sleep on ``raster`` (bool, steps x n_inputs) from the given values; return slept network and recording."""
        arch = self.arch
        if arch.target == "cpp_standalone":
            with _StandaloneProgress(self.directory, arch.steps, progress):
                self.device.run(directory=self.directory, with_output=False,
                                run_args=self._values(network, dynamics, raster))
        else:
            # A TimedArray's values are fixed when it is made, so the (cheap) Python objects
            # are rebuilt each run; the compiled extensions come from Brian2's cache.
            self._build(raster)
            for variable, value in self._values(network, dynamics, raster).items():
                if variable is not self.input_spikes:
                    variable[:] = value
            b2 = self._b2
            with tqdm(total=arch.steps, desc="sleep (brian2 cython)", disable=not progress, leave=False) as bar:
                def report(elapsed, completed, start, duration):
                    bar.n = int(round(completed * arch.steps))
                    bar.refresh()
                self.network.run(arch.steps * arch.dt * b2.second, report=report, report_period=1 * b2.second,
                                 namespace={})
        return self._results(network)

    def _results(self, network: SpikingNetwork) -> tuple[SpikingNetwork, SleepRecording]:
        arch = self.arch
        weights = []
        for index, (syn, kernel) in enumerate(zip(self.synapses, self.kernels), start=1):
            connection = self._connection(index)
            if isinstance(connection, Conv):
                weights.append(np.asarray(kernel.w[:]).reshape(connection.kernel_shape).copy())
            elif isinstance(connection, Pool):
                weights.append(None)
            else:
                weights.append(np.asarray(syn.w[:]).reshape(arch.sizes[index], arch.sizes[index - 1]).copy())
        per_step = np.stack([np.rint(np.asarray(m.rate[:]) * n * arch.dt).astype(np.int64)
                             for m, n in zip(self.rate_monitors, arch.sizes)])
        counts = [np.asarray(m.count[:]).astype(np.int64) for m in self.spike_monitors]
        trains = None
        if arch.record_trains:
            trains = [(np.rint(np.asarray(m.t[:]) / arch.dt).astype(np.int64), np.asarray(m.i[:]).astype(np.int64))
                      for m in self.spike_monitors]
        potentials = {layer: (np.asarray(arch.record_potentials[layer - 1]), np.asarray(monitor.v[:]).T.copy())
                      for layer, monitor in self.potential_monitors.items()} or None
        return network.with_weights(weights), SleepRecording(arch.sizes, arch.dt, per_step, counts, trains, potentials)


class _StandaloneProgress:
    """A progress bar fed by the standalone binary's text report (it writes stdout.txt in its results folder)."""

    def __init__(self, directory: str, steps: int, enabled: bool):
        self.path = os.path.join(directory, "results", "stdout.txt")
        self.steps, self.enabled = steps, enabled
        self._stop = threading.Event()

    def _follow(self, bar):
        while not self._stop.wait(0.5):
            try:
                with open(self.path) as handle:
                    found = re.findall(r"\((\d+)%\)", handle.read())
            except OSError:
                continue
            if found:
                bar.n = self.steps * int(found[-1]) // 100
                bar.refresh()

    def __enter__(self):
        if self.enabled:
            if os.path.exists(self.path):
                os.remove(self.path)
            self.bar = tqdm(total=self.steps, desc="sleep (brian2 cpp_standalone)", leave=False)
            self.thread = threading.Thread(target=self._follow, args=(self.bar,), daemon=True)
            self.thread.start()
        return self

    def __exit__(self, *exc):
        if self.enabled:
            self._stop.set()
            self.thread.join()
            if exc[0] is None:
                self.bar.n = self.steps
            self.bar.close()
        return False


_cache: dict[Architecture, BrianSleepNetwork] = {}


def brian_network_for(arch: Architecture) -> BrianSleepNetwork:
    """The compiled network for ``arch``, built on first use and kept for reuse in this process.

    Brian2's standalone device is a process-wide singleton, so only the most
    recent cpp_standalone network stays valid; asking for another architecture
    rebuilds.
    """
    network = _cache.get(arch)
    if network is None:
        if arch.target == "cpp_standalone":
            for key in [k for k in _cache if k.target == "cpp_standalone"]:
                del _cache[key]
        network = _cache[arch] = BrianSleepNetwork(arch)
    return network
