"""The sleep phase in torch: a vectorised reference for the Brian2 simulation.

``sleep_step`` is one time step of Algorithm 1, written as a function of
(input spikes, state, parameters); ``run_reference`` loops it. Work is
proportional to spikes x fan-out: only the weight columns of spiking
presynaptic neurons are summed, only the rows of spiking postsynaptic
neurons are updated. Dense weights are stored postsynaptic-major (as torch
holds them), so STDP touches contiguous rows and the impulse gathers columns.
At a few percent firing per step the cost is memory traffic and the number of
torch calls, hence the 0-d tensors for every number and the spikes of 1,000
steps summarised at once.

Exactness. In float64 on the CPU the step repeats Brian2's floating point
operations one for one: presynaptic weights are summed in ascending
presynaptic order (a cumulative sum, as Brian2's spike queue adds them), the
membrane update is two products and a sum without fused multiply-add, and the
weight factor is ``equations.weight_factor``, whose exp is made of IEEE-exact
operations written the same way for numpy and for Brian2's compiled code. Given the same input
raster, both produce bit-identical weights and spikes. float32 and other
devices are for speed. Convolutions and pooling (``reference_conv``) keep
the same promise, shared-kernel accumulation included.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch
from tqdm.auto import tqdm

from bio_sleep.converters.spiking_network import Conv, Dense, Pool, SleepDynamics, SpikingNetwork
from bio_sleep.converters.unrolling import gather_indices
from bio_sleep.equations.weight_factor import FACTOR_WIDTH, weight_factor
from bio_sleep.sleep.recording import SleepRecording
from bio_sleep.sleep.reference_conv import Gather, exact_order, gather_impulse, shared_stdp


class SleepState(NamedTuple):
    """Membrane potentials per layer and, per connection, its torch form (``DenseLayer`` or ``GatherLayer``)."""

    potentials: list[torch.Tensor]
    layers: list


class StepParameters(NamedTuple):
    """Per layer values of one step. Numbers are 0-d tensors of the weights' dtype: torch would
    otherwise convert a Python number on every operation, a large part of a sparse step's cost."""

    alphas: tuple[torch.Tensor, ...]
    thresholds: tuple[torch.Tensor, ...]
    decays: tuple[torch.Tensor, ...]  # each connection kind's membrane decay
    resets: tuple  # each layer's reset, from RESETS
    plastic: tuple[bool, ...]
    dynamics: SleepDynamics
    change: tuple[torch.Tensor, torch.Tensor]  # inc and -dec
    factor_scale: torch.Tensor  # -1 / width of the weight factor's sigmoid
    ones: torch.Tensor  # as many ones as the widest layer has neurons


def _weight_factor(block: torch.Tensor) -> torch.Tensor:
    if exact_order(block):
        return torch.from_numpy(weight_factor(block.numpy()))
    return 2.0 * torch.sigmoid(block * (-1.0 / FACTOR_WIDTH))


def _integrate(
    v: torch.Tensor,
    weights: torch.Tensor,
    pre_index: torch.Tensor,
    decay: torch.Tensor,
    alpha: torch.Tensor,
    row_starts: torch.Tensor,
    ones: torch.Tensor,
) -> None:
    """v <- decay * v + alpha * (summed weights of the spiking inputs ``pre_index``), in place."""
    if not pre_index.numel():
        v.mul_(decay)
    elif exact_order(weights):
        # Columns through a flat gather (it beats a strided column gather), summed sequentially in
        # presynaptic order, as Brian2's synapses add into I; then two products and a sum.
        flat_index = (row_starts + pre_index).view(-1)
        columns = weights.view(-1).index_select(0, flat_index).view(weights.shape[0], -1)
        v.mul_(decay).add_(columns.cumsum(1)[:, -1] * alpha)
    else:
        columns = weights.index_select(1, pre_index)
        torch.addmv(v, columns, ones[: len(pre_index)], beta=decay, alpha=alpha, out=v)


def _stdp(weights: torch.Tensor, pre_spiked: torch.Tensor, post_index: torch.Tensor, params: StepParameters) -> None:
    """w += inc (pre and post spiked) or -= dec (post alone), times f(w) for the authors' rule; in place.

    Per synapse, f(w) * (inc or -dec) is the same product as Brian2's (inc or -dec) * f(w), so the
    float64 path stays exact.
    """
    per_input = torch.where(pre_spiked, *params.change)
    if params.dynamics.stdp_rule != "weight_dependent":
        weights.index_add_(0, post_index, per_input.expand(len(post_index), -1))
        return
    block = weights.index_select(0, post_index)
    if exact_order(block):
        weights.index_add_(0, post_index, _weight_factor(block).mul_(per_input))
        return
    # f(w) / 2. Clamping -w / width to [-40, 40] changes nothing in float32 (sigmoid(40) rounds to 1; a
    # change of inc * 1e-17 vanishes against |w| > 0.04), but spares the exp of overflowing arguments.
    half_factor = block.mul_(params.factor_scale).clamp_(-40.0, 40.0).sigmoid_()
    weights.index_add_(0, post_index, half_factor.mul_(per_input), alpha=2.0)


class DenseLayer(NamedTuple):
    """A dense connection: weights (n_post, n_pre) and the flat index of each row's start, (n_post, 1)."""

    weights: torch.Tensor
    row_starts: torch.Tensor

    def integrate(self, v, pre_spiked, pre_index, decay, alpha, ones) -> None:
        _integrate(v, self.weights, pre_index, decay, alpha, self.row_starts, ones)

    def learn(self, pre_spiked, post_spiked, post_index, params: StepParameters) -> None:
        _stdp(self.weights, pre_spiked, post_index, params)


class GatherLayer(NamedTuple):
    """A conv or pooling connection: its kernel (channels x fan_in; a pooling layer's unit weight as (1, 1))
    and gather indices."""

    weights: torch.Tensor
    gather: Gather

    def integrate(self, v, pre_spiked, pre_index, decay, alpha, ones) -> None:
        v.mul_(decay)
        if pre_index.numel():
            v.add_(gather_impulse(pre_spiked, self.gather, self.weights) * alpha)

    def learn(self, pre_spiked, post_spiked, post_index, params: StepParameters) -> None:
        shared_stdp(self.weights, pre_spiked, post_spiked, self.gather, params.dynamics, _weight_factor)


def _dense_layer(connection: Dense, weights: np.ndarray, dtype, device) -> DenseLayer:
    rows = torch.arange(connection.n_post, device=device)[:, None] * connection.n_pre
    return DenseLayer(torch.tensor(weights, dtype=dtype, device=device).contiguous(), rows)


def _conv_layer(connection: Conv, weights: np.ndarray, dtype, device) -> GatherLayer:
    pre, parameter = (torch.from_numpy(a).to(device) for a in gather_indices(connection))
    kernel = torch.tensor(weights.reshape(weights.shape[0], -1), dtype=dtype, device=device).contiguous()
    return GatherLayer(kernel, Gather(pre, parameter, connection.kernel_shape[0], connection))


def _pool_layer(connection: Pool, weights: None, dtype, device) -> GatherLayer:
    pre, parameter = (torch.from_numpy(a).to(device) for a in gather_indices(connection))
    return GatherLayer(torch.ones(1, 1, dtype=dtype, device=device), Gather(pre, parameter, 1, connection))


# The torch form of each connection kind (``Connection.kind``).
LAYERS = {"dense": _dense_layer, "conv": _conv_layer, "pool": _pool_layer}


def _reset_to_zero(v: torch.Tensor, spiked: torch.Tensor) -> None:
    v.masked_fill_(spiked, 0.0)


def _reset_by_subtraction(v: torch.Tensor, spiked: torch.Tensor) -> None:
    v.sub_(spiked.to(v.dtype))  # v - 1 where spiked; v - 0.0 elsewhere leaves v's bits unchanged


# Each reset of equations.neurons.RESETS.
RESETS = {"zero": _reset_to_zero, "subtract": _reset_by_subtraction}


def sleep_step(
    input_spikes: torch.Tensor, state: SleepState, params: StepParameters, out: list[torch.Tensor] | None = None
) -> list[torch.Tensor]:
    """Advance every layer by one step, in layer order; update ``state`` in place; return each layer's spikes.

        v <- decay * v + alpha * (sum of weights of spiking inputs)
        spike where v > threshold (or >=), then reset there (v <- 0, or v - 1 for average pooling)
        STDP on the incoming weights of spiking neurons

    ``out`` optionally gives, per layer after the input, a bool tensor to write its spikes into.
    """
    spikes = [input_spikes]
    pre_index = input_spikes.nonzero().squeeze(1)
    for layer, (v, connection) in enumerate(zip(state.potentials, state.layers)):
        pre_spiked = spikes[-1]
        connection.integrate(v, pre_spiked, pre_index, params.decays[layer], params.alphas[layer], params.ones)
        post_spiked = _fire(v, params.thresholds[layer], params.dynamics, out[layer] if out is not None else None)
        post_index = post_spiked.nonzero().squeeze(1)
        if post_index.numel():
            params.resets[layer](v, post_spiked)
            if params.plastic[layer]:
                connection.learn(pre_spiked, post_spiked, post_index, params)
        spikes.append(post_spiked)
        pre_index = post_index
    return spikes


def _fire(v: torch.Tensor, threshold: torch.Tensor, dynamics: SleepDynamics, out: torch.Tensor | None) -> torch.Tensor:
    if dynamics.spike_condition == "at_or_above":
        return torch.ge(v, threshold, out=out)
    return torch.gt(v, threshold, out=out)


def _initial_state(
    network: SpikingNetwork, dynamics: SleepDynamics, plastic, dtype, device
) -> tuple[SleepState, StepParameters]:
    """The state at rest and the step's parameters."""
    layers = [LAYERS[c.kind](c, w, dtype, device) for c, w in zip(network.connections, network.weights)]

    def scalars(values):
        return tuple(torch.tensor(value, dtype=dtype, device=device) for value in values)

    state = SleepState([torch.zeros(n, dtype=dtype, device=device) for n in network.sizes[1:]], layers)
    params = StepParameters(
        scalars(network.alphas),
        scalars(network.thresholds),
        scalars(c.membrane_decay(dynamics.decay) for c in network.connections),
        tuple(RESETS[c.reset] for c in network.connections),
        plastic,
        dynamics,
        scalars((dynamics.inc, -dynamics.dec)),
        torch.tensor(-1.0 / FACTOR_WIDTH, dtype=dtype, device=device),
        torch.ones(max(network.sizes), dtype=dtype, device=device),
    )
    return state, params


def _final_weights(network: SpikingNetwork, layers: list) -> list[np.ndarray | None]:
    return [
        c.weights_from_flat(layer.weights.to(torch.float64).cpu().numpy())
        for c, layer in zip(network.connections, layers)
    ]


# Steps simulated between two summaries of the recorded spikes.
_CHUNK_STEPS = 1000


def run_reference(
    network: SpikingNetwork,
    dynamics: SleepDynamics,
    input_raster: np.ndarray,
    *,
    dt: float = 0.001,
    plastic=None,
    record_trains: bool = False,
    record_potentials=None,
    device: str = "cpu",
    dtype=torch.float64,
    progress: bool = True,
) -> tuple[SpikingNetwork, SleepRecording]:
    """Run sleep on ``input_raster`` (bool, steps x n_inputs); return the slept network and the recording.

    ``record_potentials`` gives, per layer after the input, the neurons whose membrane potential is recorded.
    """
    plastic = tuple(plastic) if plastic is not None else (True,) * len(network.weights)
    sizes = network.sizes
    state, params = _initial_state(network, dynamics, plastic, dtype, device)
    steps = len(input_raster)
    per_step = torch.zeros(len(sizes), steps, dtype=torch.int64, device=device)
    counts = [torch.zeros(n, dtype=torch.int64, device=device) for n in sizes]
    trains = [[] for _ in sizes] if record_trains else None
    watched = {
        layer: torch.as_tensor(indices, dtype=torch.int64, device=device)
        for layer, indices in enumerate(record_potentials or (), start=1)
        if len(indices)
    }
    potentials = {
        layer: torch.empty(steps, len(indices), dtype=dtype, device=device) for layer, indices in watched.items()
    }
    raster = torch.from_numpy(np.ascontiguousarray(input_raster))
    with tqdm(total=steps, desc="sleep (torch)", disable=not progress, leave=False, mininterval=0.5) as bar:
        for start in range(0, steps, _CHUNK_STEPS):
            chunk = raster[start : start + _CHUNK_STEPS].to(device)
            # Each layer's spikes of the chunk (steps x neurons), summarised once the chunk is done.
            layer_spikes = [chunk] + [torch.empty(len(chunk), n, dtype=torch.bool, device=device) for n in sizes[1:]]
            for offset in range(len(chunk)):
                sleep_step(chunk[offset], state, params, out=[spiked[offset] for spiked in layer_spikes[1:]])
                for layer, indices in watched.items():
                    potentials[layer][start + offset] = state.potentials[layer - 1][indices]
            for layer, spiked in enumerate(layer_spikes):
                as_bytes = spiked.view(torch.uint8)  # sums of bytes skip a bool -> int64 copy of the chunk
                per_step[layer, start : start + len(chunk)] = as_bytes.sum(1)
                counts[layer] += as_bytes.sum(0)
                if trains is not None:
                    step_index, unit = spiked.nonzero().unbind(1)
                    trains[layer].append((step_index + start, unit))
            bar.update(len(chunk))
    if trains is not None:
        trains = [tuple(torch.cat(part).cpu().numpy().astype(np.int64) for part in zip(*layer)) for layer in trains]
    recording = SleepRecording(
        sizes,
        dt,
        per_step.cpu().numpy(),
        [c.cpu().numpy() for c in counts],
        trains,
        {
            layer: (watched[layer].cpu().numpy(), values.to(torch.float64).cpu().numpy())
            for layer, values in potentials.items()
        }
        or None,
    )
    slept = network.with_weights(_final_weights(network, state.layers))
    return slept, recording


@dataclass
class TorchSimulator:
    """The torch reference behind ``bio_sleep.sleep.simulator``'s interface."""

    dtype: torch.dtype = torch.float64
    device: str = "cpu"
    threads: int = 1  # torch's CPU threads during the sleep (the caller's setting is restored after it)
    compile_seconds: float = 0.0  # nothing to build

    def run(
        self, network: SpikingNetwork, dynamics: SleepDynamics, raster: np.ndarray, plan, progress: bool = True
    ) -> tuple[SpikingNetwork, SleepRecording]:
        previous = torch.get_num_threads()
        torch.set_num_threads(self.threads)
        try:
            return run_reference(
                network,
                dynamics,
                raster,
                dt=plan.dt,
                plastic=plan.plastic,
                record_trains=plan.record_trains,
                record_potentials=plan.record_potentials,
                device=self.device,
                dtype=self.dtype,
                progress=progress,
            )
        finally:
            torch.set_num_threads(previous)
