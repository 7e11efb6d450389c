"""The sleep phase in Brian2: the network as NeuronGroups and Synapses, compiled once per architecture.

One NeuronGroup per layer (models from ``bio_sleep.equations``) and one
Synapses object per connection, built by the hook of its kind (``CONNECT``).
Dense synapses are connected presynaptic-major, so that their weights are
``W.T.ravel()`` for a torch weight W of shape (n_post, n_pre). Convolutions and
pooling are unrolled into synapses from numpy index arrays
(``converters.unrolling``); a conv synapse's weight is a linked variable into
a kernel NeuronGroup of one unit per kernel element; pooling units run with
their kind's fixed values (``equations.pooling``). The input layer replays a
precomputed raster: a TimedArray on cython; on cpp_standalone a function reading
the raster from a file at run time (``equations.raster``), which ends the run
at the raster's last step, so one compiled network serves any number of steps.

Scheduling. Brian2's default schedule (groups, thresholds, synapses, resets)
would delay each layer by one step. Algorithm 1 lets a spike cross every layer
within one step, so every operation is placed explicitly in the ``start`` slot,
in this order per layer l:

    synapses l: deliver spikes of layer l-1   (I += w)
    layer l:    v = decay * v + alpha * I
    layer l:    threshold, reset
    synapses l: STDP on the spikes of layer l (reads s_pre of layer l-1)
    kernel l:   w = w + dk (convolutions only: the shared-weight accumulation)

Reuse. Everything that may change between runs (weights, thresholds, alphas,
decay, inc/dec, the input raster and its length) is a variable, never a constant baked into
the code, addressed by its run-time name (``"layer_1.alpha"``). With
``cpp_standalone`` the project is compiled once per architecture into the
cache of ``brian2_cache`` and later runs, in any process, run its binary
without importing Brian2; with ``cython`` the generated extensions are cached
by Brian2 and only the (cheap) Python objects are rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from bio_sleep import equations
from bio_sleep.converters import spiking_network, unrolling
from bio_sleep.converters.spiking_network import Connection, SleepDynamics, SpikingNetwork
from bio_sleep.converters.unrolling import synapse_list
from bio_sleep.sleep.brian2_cache import CompiledNetwork, compile_project, compiled_network
from bio_sleep.sleep.recording import SleepRecording

# No -ffast-math and no contraction into fused multiply-adds: the generated
# code must round exactly as the torch reference does.
COMPILE_ARGS = ["-w", "-O3", "-ffp-contract=off", "-fno-fast-math"]
# The files that make the generated code and its static arrays (the unrolled synapses): a change to any of
# them is a new cache key.
_CODE_SOURCES = [
    Path(__file__),
    Path(unrolling.__file__),
    Path(spiking_network.__file__),
    *sorted(Path(equations.__file__).parent.glob("*.py")),
]


@dataclass(frozen=True)
class Architecture:
    """What a compiled network depends on; any other value is set at run time."""

    sizes: tuple[int, ...]
    dt: float
    stdp_rule: str
    spike_condition: str
    plastic: tuple[bool, ...]
    record_trains: bool
    target: str
    connections: tuple[Connection, ...]
    record_potentials: tuple[tuple[int, ...], ...] = ()  # per layer after the input: neurons whose v is recorded
    threads: int = 1  # OpenMP threads of cpp_standalone (compiled in); cython runs one

    @classmethod
    def of(cls, network: SpikingNetwork, dynamics: SleepDynamics, plan, target: str, threads: int = 1) -> Architecture:
        return cls(
            network.sizes,
            plan.dt,
            dynamics.stdp_rule,
            dynamics.spike_condition,
            tuple(plan.plastic),
            plan.record_trains,
            target,
            network.connections,
            tuple(map(tuple, plan.record_potentials)),
            threads if target == "cpp_standalone" else 1,
        )

    @property
    def description(self) -> str:
        return "-".join(map(str, self.sizes))


def _connect_dense(b2, index: int, connection, pre, post, on_post, namespace):
    from bio_sleep.equations import synapses

    syn = b2.Synapses(
        pre,
        post,
        synapses.SYNAPSE,
        on_pre=synapses.ON_PRE,
        on_post=on_post and synapses.ON_POST[on_post],
        namespace=namespace,
        name=f"synapses_{index}",
    )
    # Presynaptic-major: one spike's synapses are contiguous, so the impulse pathway (the one with
    # the most events) walks its weights and indices in order. Each target still adds its inputs in
    # ascending presynaptic order (the spike order), as the torch reference sums them.
    syn.connect(
        i=np.repeat(np.arange(connection.n_pre), connection.n_post),
        j=np.tile(np.arange(connection.n_post), connection.n_pre),
    )
    return syn, [], f"synapses_{index}"


def _connect_conv(b2, index: int, connection, pre, post, on_post, namespace):
    from bio_sleep.equations import synapses

    syn = b2.Synapses(
        pre,
        post,
        synapses.CONV_SYNAPSE,
        on_pre=synapses.ON_PRE,
        on_post=on_post and synapses.CONV_ON_POST[on_post],
        namespace=namespace,
        name=f"synapses_{index}",
    )
    pre_index, post_index, element = synapse_list(connection)
    syn.connect(i=pre_index, j=post_index)
    syn.k = element
    kernel = b2.NeuronGroup(int(np.prod(connection.kernel_shape)), synapses.KERNEL, name=f"kernel_{index}")
    syn.w = b2.linked_var(kernel, "w", index="k")
    syn.dk = b2.linked_var(kernel, "dk", index="k")
    update = kernel.run_regularly(
        synapses.KERNEL_UPDATE, when="start", order=10 * index + 5, name=f"kernel_{index}_update"
    )
    return syn, [kernel, update], f"kernel_{index}"


def _connect_pool(b2, index: int, connection, pre, post, on_post, namespace):
    from bio_sleep.equations import synapses

    syn = b2.Synapses(pre, post, synapses.SYNAPSE, on_pre=synapses.ON_PRE, name=f"synapses_{index}")
    pre_index, post_index, _ = synapse_list(connection)
    syn.connect(i=pre_index, j=post_index)
    syn.w = 1.0
    return syn, [], None


# The Brian2 form of each connection kind (``Connection.kind``): (synapses, other objects, weight holder or None).
CONNECT = {"dense": _connect_dense, "conv": _connect_conv, "pool": _connect_pool}


def _configure_brian(target: str, directory: str | None, threads: int = 1):
    import brian2

    brian2.prefs.codegen.cpp.extra_compile_args_gcc = COMPILE_ARGS
    # 0: no OpenMP code at all. With threads, a pathway that adds into the postsynaptic I still runs on one
    # thread in spike order (Brian2's template), so each target's sum keeps its order.
    brian2.prefs.devices.cpp_standalone.openmp_threads = threads if threads > 1 else 0
    brian2.prefs.logging.console_log_level = "WARNING"
    if target == "cpp_standalone":
        brian2.set_device("cpp_standalone", directory=directory, build_on_run=False)
        brian2.device.reinit()
        brian2.device.activate(directory=directory, build_on_run=False)
    else:
        brian2.set_device("runtime")
        brian2.prefs.codegen.target = "cython"
    return brian2


class _Objects:
    """The Brian2 objects of one architecture, built in the current device (on cython, for one raster)."""

    def __init__(self, arch: Architecture, raster: np.ndarray | None, directory: str | None):
        from bio_sleep.equations import neurons, synapses

        b2 = self.b2 = _configure_brian(arch.target, directory, arch.threads)
        b2.start_scope()
        b2.defaultclock.dt = arch.dt * b2.second
        if raster is None:  # cpp_standalone: the raster file of each run
            from bio_sleep.equations import raster as file_raster

            threshold, namespace = file_raster.INPUT_THRESHOLD, {"raster_spike": file_raster.raster_spike}
        else:
            input_spikes = b2.TimedArray(raster.astype(np.float64), dt=arch.dt * b2.second, name="input_spikes")
            threshold, namespace = neurons.INPUT_THRESHOLD, {"input_spikes": input_spikes}
        source = b2.NeuronGroup(
            arch.sizes[0],
            neurons.INPUT_NEURON,
            threshold=threshold,
            reset=neurons.INPUT_RESET,
            name="layer_0",
            namespace=namespace,
        )
        clear = source.run_regularly("s = 0", when="start", order=0, name="layer_0_clear")
        source.thresholder["spike"].when = source.resetter["spike"].when = "start"
        source.thresholder["spike"].order, source.resetter["spike"].order = 1, 2
        objects, layers = [source, clear], [source]
        self.weight_holders = []
        namespace = {"stdp_weight_factor": synapses.stdp_weight_factor}
        for index, (size, connection) in enumerate(zip(arch.sizes[1:], arch.connections), start=1):
            group = b2.NeuronGroup(
                size,
                neurons.INTEGRATE_AND_FIRE,
                threshold=neurons.THRESHOLDS[arch.spike_condition],
                reset=neurons.RESETS[connection.reset],
                name=f"layer_{index}",
            )
            update = group.run_regularly(
                neurons.STEP_UPDATE, when="start", order=10 * index + 1, name=f"layer_{index}_update"
            )
            on_post = arch.stdp_rule if arch.plastic[index - 1] else None
            syn, extra, holder = CONNECT[connection.kind](b2, index, connection, layers[-1], group, on_post, namespace)
            syn.pre.when = "start"
            syn.pre.order = 10 * index
            group.thresholder["spike"].when = group.resetter["spike"].when = "start"
            group.thresholder["spike"].order, group.resetter["spike"].order = 10 * index + 2, 10 * index + 3
            if on_post:
                syn.post.when = "start"
                syn.post.order = 10 * index + 4
            objects += [group, update, syn] + extra
            layers.append(group)
            self.weight_holders.append(holder)
        monitors = [
            b2.SpikeMonitor(g, record=arch.record_trains, when="end", name=f"spikes_{k}") for k, g in enumerate(layers)
        ]
        monitors += [b2.PopulationRateMonitor(g, name=f"rate_{k}") for k, g in enumerate(layers)]
        monitors += [
            b2.StateMonitor(layers[layer], "v", record=list(indices), when="end", name=f"potential_{layer}")
            for layer, indices in enumerate(arch.record_potentials, start=1)
            if len(indices)
        ]
        self.network = b2.Network(objects + monitors)

    def variable(self, name: str):
        owner, variable = name.split(".")
        return self.network[owner].variables[variable]


def _synapse_weights(connection: Connection, weights) -> np.ndarray:
    """A connection's weights in the order of its Brian2 synapses (dense: presynaptic-major, W.T flattened)."""
    if connection.kind == "dense":
        return np.ascontiguousarray(np.asarray(weights, dtype=np.float64).T).ravel()
    return connection.flat_weights(weights)


def _weights_from_synapses(connection: Connection, flat: np.ndarray) -> np.ndarray | None:
    """The inverse of ``_synapse_weights``: the torch-shaped weights of a run's synapse values."""
    if connection.kind == "dense":
        return np.asarray(flat, dtype=np.float64).reshape(connection.n_pre, connection.n_post).T.copy()
    return connection.weights_from_flat(flat)


def _inputs(arch: Architecture, holders, network: SpikingNetwork, dynamics: SleepDynamics) -> dict:
    """Run-time values keyed by their run-time name ('object.variable'); the raster travels apart."""
    values = {}
    for index, (connection, holder, weights, alpha, threshold) in enumerate(
        zip(arch.connections, holders, network.weights, network.alphas, network.thresholds), start=1
    ):
        if holder is not None:
            values[f"{holder}.w"] = _synapse_weights(connection, weights)
        if arch.plastic[index - 1]:
            values[f"synapses_{index}.inc"], values[f"synapses_{index}.dec"] = dynamics.inc, dynamics.dec
        values[f"layer_{index}.alpha"], values[f"layer_{index}.threshold"] = alpha, threshold
        values[f"layer_{index}.decay"] = connection.membrane_decay(dynamics.decay)
    return values


def _outputs(arch: Architecture, holders) -> list[str]:
    """Run-time names of everything a run reads back."""
    names = [f"{holder}.w" for holder in holders if holder is not None]
    for k in range(len(arch.sizes)):
        names += [f"rate_{k}.rate", f"spikes_{k}.count"]
        names += [f"spikes_{k}.t", f"spikes_{k}.i"] if arch.record_trains else []
    names += [f"potential_{layer}.v" for layer, indices in enumerate(arch.record_potentials, start=1) if len(indices)]
    return names


def _results(
    arch: Architecture, holders, network: SpikingNetwork, read: dict, steps: int
) -> tuple[SpikingNetwork, SleepRecording]:
    weights = [
        None if holder is None else _weights_from_synapses(connection, read[f"{holder}.w"])
        for connection, holder in zip(arch.connections, holders)
    ]
    per_step = np.stack(
        [np.rint(read[f"rate_{k}.rate"] * n * arch.dt).astype(np.int64) for k, n in enumerate(arch.sizes)]
    )
    counts = [read[f"spikes_{k}.count"].astype(np.int64) for k in range(len(arch.sizes))]
    trains = None
    if arch.record_trains:
        trains = [
            (np.rint(read[f"spikes_{k}.t"] / arch.dt).astype(np.int64), read[f"spikes_{k}.i"].astype(np.int64))
            for k in range(len(arch.sizes))
        ]
    potentials = {
        layer: (np.asarray(indices), read[f"potential_{layer}.v"].reshape(steps, -1).copy())
        for layer, indices in enumerate(arch.record_potentials, start=1)
        if len(indices)
    } or None
    return network.with_weights(weights), SleepRecording(arch.sizes, arch.dt, per_step, counts, trains, potentials)


def cache_key(arch: Architecture) -> str:
    """A hash of everything that changes the generated code or the binary."""
    from importlib.metadata import version

    compiler = subprocess.run(["c++", "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    # repr names each connection's kind (a tuple of the fields would not tell Pool from AvgPool).
    parts = {
        "arch": repr(arch),
        "brian2": version("brian2"),
        "compiler": compiler,
        "flags": COMPILE_ARGS,
        "machine": platform.machine(),
        "code": [hashlib.sha256(p.read_bytes()).hexdigest() for p in _CODE_SOURCES],
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:24]


def _build_standalone(arch: Architecture, directory: Path) -> dict:
    """Generate and compile the project into ``directory``; return its manifest."""
    from bio_sleep.equations.raster import MAX_STEPS

    objects = _Objects(arch, None, str(directory))
    b2 = objects.b2
    # The run lasts MAX_STEPS at most; the raster file's end stops it. The report names the step reached.
    report = f'std::cout << "step " << (long)(completed * duration / {arch.dt!r} + 0.5) << std::endl;'
    objects.network.run(MAX_STEPS * arch.dt * b2.second, report=report, report_period=1 * b2.second, namespace={})
    device = b2.get_device()
    device.build(directory=str(directory), compile=False, run=False, with_output=False)
    compile_project(directory)
    run_inputs = _inputs(arch, objects.weight_holders, _zero_network(arch), SleepDynamics(0.0, 0.0, 0.0))
    outputs = {
        name: {
            "file": device.get_array_filename(objects.variable(name)),
            "dtype": np.dtype(objects.variable(name).dtype).name,
        }
        for name in _outputs(arch, objects.weight_holders)
    }
    inputs = {name: np.dtype(objects.variable(name).dtype).name for name in run_inputs}
    environment = {**b2.prefs["devices.cpp_standalone.run_environment_variables"], **device.run_environment_variables}
    return {
        "architecture": arch.description,
        "holders": objects.weight_holders,
        "inputs": inputs,
        "outputs": outputs,
        "environment": {k: str(v) for k, v in environment.items()},
    }


def _zero_network(arch: Architecture) -> SpikingNetwork:
    """A network of the architecture's shape (its values only serve to name the run-time variables)."""
    weights = [None if c.kind == "pool" else np.zeros(c.weight_shape) for c in arch.connections]
    return SpikingNetwork(tuple(weights), (0.0,) * len(weights), (0.0,) * len(weights), arch.connections)


class BrianSleepNetwork:
    """A Brian2 sleep network of one architecture; for cpp_standalone, compiled once into the cache."""

    def __init__(self, arch: Architecture, progress: bool = True):
        self.arch = arch
        self.compile_seconds = 0.0
        self.compiled: CompiledNetwork | None = None
        if arch.target == "cpp_standalone":
            self.compiled, self.compile_seconds = compiled_network(
                cache_key(arch), arch.description, lambda directory: _build_standalone(arch, directory), progress
            )
            self.holders = self.compiled.manifest["holders"]

    def run(
        self, network: SpikingNetwork, dynamics: SleepDynamics, raster: np.ndarray, progress: bool = True
    ) -> tuple[SpikingNetwork, SleepRecording]:
        """Sleep on ``raster`` (bool, steps x n_inputs) from the given values; return slept network and recording."""
        arch = self.arch
        if self.compiled is not None:
            read = self.compiled.run(
                _inputs(arch, self.holders, network, dynamics),
                raster,
                "sleep (brian2 cpp_standalone)" if progress else None,
            )
            return _results(arch, self.holders, network, read, len(raster))
        # A TimedArray's values are fixed when it is made, so the (cheap) Python objects
        # are rebuilt each run; the compiled extensions come from Brian2's cache.
        objects = _Objects(arch, raster, None)
        self.holders = objects.weight_holders
        for name, value in _inputs(arch, self.holders, network, dynamics).items():
            owner, variable = name.split(".")
            setattr(objects.network[owner], variable, value)
        b2 = objects.b2
        steps = len(raster)
        with tqdm(total=steps, desc="sleep (brian2 cython)", disable=not progress, leave=False) as bar:

            def report(elapsed, completed, start, duration):
                bar.n = int(round(completed * steps))
                bar.refresh()

            objects.network.run(steps * arch.dt * b2.second, report=report, report_period=1 * b2.second, namespace={})
        read = {name: np.array(objects.variable(name).get_value()) for name in _outputs(arch, self.holders)}
        return _results(arch, self.holders, network, read, steps)


_networks: dict[Architecture, BrianSleepNetwork] = {}


def brian_network_for(arch: Architecture, progress: bool = True) -> BrianSleepNetwork:
    """The network for ``arch``, made on first use in this process (from the compile cache for cpp_standalone)."""
    network = _networks.get(arch)
    if network is None:
        network = _networks[arch] = BrianSleepNetwork(arch, progress)
    return network


@dataclass
class Brian2Simulator:
    """The Brian2 backend behind ``bio_sleep.sleep.simulator``'s interface."""

    target: str = "cpp_standalone"
    threads: int = 1  # OpenMP threads of cpp_standalone
    compile_seconds: float = 0.0  # what the last run paid to compile (0 once compiled, in any process)

    def run(
        self, network: SpikingNetwork, dynamics: SleepDynamics, raster: np.ndarray, plan, progress: bool = True
    ) -> tuple[SpikingNetwork, SleepRecording]:
        arch = Architecture.of(network, dynamics, plan, self.target, self.threads)
        fresh = arch not in _networks
        brian = brian_network_for(arch, progress)
        self.compile_seconds = brian.compile_seconds if fresh else 0.0
        return brian.run(network, dynamics, raster, progress=progress)
