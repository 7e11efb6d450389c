"""The sleep phase in torch: a vectorised reference for the Brian2 simulation.

``sleep_step`` is one time step of Algorithm 1, written as a function of
(input spikes, state, parameters); ``run_reference`` loops it. Work is
proportional to spikes x fan-out: only the weight columns of spiking
presynaptic neurons are summed, only the rows of spiking postsynaptic
neurons are updated. Dense weights are stored postsynaptic-major (as torch
holds them), so STDP touches contiguous rows; the impulse gathers columns
through a flat index.

Exactness. In float64 on the CPU the step repeats Brian2's floating point
operations one for one: presynaptic weights are summed in ascending
presynaptic order (a cumulative sum, as Brian2's spike queue adds them), the
membrane update is two products and a sum without fused multiply-add, and the
weight factor uses the C library's exp through numpy. Given the same input
raster, both produce bit-identical weights and spikes. float32 and other
devices are for speed. Convolutions and pooling (``reference_conv``) keep
the same promise, shared-kernel accumulation included.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from tqdm.auto import tqdm

from bio_sleep.converters.spiking_network import Conv, Pool, SleepDynamics, SpikingNetwork
from bio_sleep.converters.unrolling import gather_indices
from bio_sleep.equations.synapses import FACTOR_WIDTH, stdp_weight_factor_numpy
from bio_sleep.sleep.recording import SleepRecording
from bio_sleep.sleep.reference_conv import Gather, gather_impulse, shared_stdp


class SleepState(NamedTuple):
    """Membrane potentials per layer; dense weights as (n_post, n_pre), a conv kernel as
    (out_channels, fan_in), a pooling layer's unit weight as (1, 1)."""

    potentials: list[torch.Tensor]
    weights: list[torch.Tensor]


class StepParameters(NamedTuple):
    alphas: tuple[float, ...]
    thresholds: tuple[float, ...]
    plastic: tuple[bool, ...]
    dynamics: SleepDynamics
    gathers: tuple[Gather | None, ...] = ()   # per layer: conv / pooling indices, None for dense
    decays: tuple[float | None, ...] = ()     # per layer: a fixed decay (pooling: 0), None for the dynamics' one
    row_starts: tuple[torch.Tensor | None, ...] = ()  # dense layers: flat index of each weight row's start, (n_post, 1)


def _weight_factor(block: torch.Tensor) -> torch.Tensor:
    if block.dtype == torch.float64 and block.device.type == "cpu":
        return torch.from_numpy(stdp_weight_factor_numpy(block.numpy()))
    return 2.0 * (1.0 - torch.sigmoid(block / FACTOR_WIDTH))


def _stdp(weights: torch.Tensor, pre_spiked: torch.Tensor, post_index: torch.Tensor, dynamics: SleepDynamics) -> None:
    """w += inc (pre and post spiked) or -= dec (post alone), times f(w) for the authors' rule; in place."""
    block = weights.index_select(0, post_index)
    pre = pre_spiked[None, :]
    if dynamics.stdp_rule == "weight_dependent":
        factor = _weight_factor(block)
        change = torch.where(pre, dynamics.inc * factor, -(dynamics.dec * factor))
    else:
        change = torch.where(pre, block.new_tensor(dynamics.inc), block.new_tensor(-dynamics.dec))
    weights.index_copy_(0, post_index, block + change)


def sleep_step(input_spikes: torch.Tensor, state: SleepState, params: StepParameters) -> list[torch.Tensor]:
    """Advance every layer by one step, in layer order; update ``state`` in place; return each layer's spikes.

        v <- decay * v + alpha * (sum of weights of spiking inputs)
        spike where v > threshold (or >=), then v <- 0 there
        STDP on the incoming weights of spiking neurons
    """
    spikes = [input_spikes]
    dynamics = params.dynamics
    for layer, (v, weights) in enumerate(zip(state.potentials, state.weights)):
        pre_spiked = spikes[-1]
        gather = params.gathers[layer] if params.gathers else None
        if gather is not None:
            spikes.append(_gather_layer_step(v, weights, pre_spiked, gather, params, layer))
            continue
        pre_index = pre_spiked.nonzero().squeeze(1)
        v.mul_(dynamics.decay)
        if pre_index.numel():
            # Columns of the spiking inputs (a flat gather beats a strided column gather),
            # summed sequentially in presynaptic order, as Brian2's synapses add into I.
            flat_index = (params.row_starts[layer] + pre_index).view(-1)
            columns = weights.view(-1).index_select(0, flat_index).view(weights.shape[0], -1)
            v.add_(columns.cumsum(1)[:, -1] * params.alphas[layer])
        threshold = params.thresholds[layer]
        post_spiked = v >= threshold if dynamics.spike_condition == "at_or_above" else v > threshold
        post_index = post_spiked.nonzero().squeeze(1)
        if post_index.numel():
            v.index_fill_(0, post_index, 0.0)
            if params.plastic[layer]:
                _stdp(weights, pre_spiked, post_index, dynamics)
        spikes.append(post_spiked)
    return spikes


def _gather_layer_step(v, kernel, pre_spiked, gather, params: StepParameters, layer: int) -> torch.Tensor:
    """One step of a conv or pooling layer (same order of operations as a dense layer)."""
    dynamics = params.dynamics
    decay = params.decays[layer] if params.decays[layer] is not None else dynamics.decay
    v.mul_(decay)
    if pre_spiked.any():
        v.add_(gather_impulse(pre_spiked, gather, kernel) * params.alphas[layer])
    threshold = params.thresholds[layer]
    post_spiked = v >= threshold if dynamics.spike_condition == "at_or_above" else v > threshold
    if post_spiked.any():
        v.masked_fill_(post_spiked, 0.0)
        if params.plastic[layer]:
            shared_stdp(kernel, pre_spiked, post_spiked, gather, dynamics, _weight_factor)
    return post_spiked


def _initial_weights(network: SpikingNetwork, dtype, device) -> tuple[list, list, list, list]:
    """Per layer: the weights as the step stores them, gather indices (or None), a fixed decay (or None)
    and, for dense layers, the flat index of each weight row's start (or None)."""
    weights, gathers, decays, row_starts = [], [], [], []
    for index, w in enumerate(network.weights):
        connection = network.connection(index)
        if connection is None:
            weights.append(torch.tensor(w, dtype=dtype, device=device).contiguous())
            gathers.append(None)
            decays.append(None)
            row_starts.append(torch.arange(w.shape[0], device=device)[:, None] * w.shape[1])
            continue
        row_starts.append(None)
        pre, parameter = (torch.from_numpy(a).to(device) for a in gather_indices(connection))
        if isinstance(connection, Conv):
            weights.append(torch.tensor(w.reshape(w.shape[0], -1), dtype=dtype, device=device).contiguous())
            gathers.append(Gather(pre, parameter, connection.kernel_shape[0], connection))
            decays.append(None)
        else:
            weights.append(torch.ones(1, 1, dtype=dtype, device=device))
            gathers.append(Gather(pre, parameter, 1, connection))
            decays.append(Pool.decay)
    return weights, gathers, decays, row_starts


def _final_weights(network: SpikingNetwork, stored: list[torch.Tensor]) -> list[np.ndarray | None]:
    final = []
    for index, w in enumerate(stored):
        connection = network.connection(index)
        if connection is None:
            final.append(w.to(torch.float64).cpu().numpy().copy())
        elif isinstance(connection, Conv):
            final.append(w.to(torch.float64).cpu().numpy().reshape(connection.kernel_shape).copy())
        else:
            final.append(None)
    return final


def run_reference(network: SpikingNetwork, dynamics: SleepDynamics, input_raster: np.ndarray, *,
                  dt: float = 0.001, plastic=None, record_trains: bool = False, record_potentials=None,
                  device: str = "cpu",
                  dtype=torch.float64,
                  progress: bool = True) -> tuple[SpikingNetwork, SleepRecording]:
    """Run sleep on ``input_raster`` (bool, steps x n_inputs); return the slept network and the recording.

    ``record_potentials`` gives, per layer after the input, the neurons whose membrane potential is recorded.
    """
    plastic = tuple(plastic) if plastic is not None else (True,) * len(network.weights)
    sizes = network.sizes
    weights, gathers, decays, row_starts = _initial_weights(network, dtype, device)
    state = SleepState([torch.zeros(n, dtype=dtype, device=device) for n in sizes[1:]], weights)
    params = StepParameters(network.alphas, network.thresholds, plastic, dynamics, tuple(gathers), tuple(decays),
                            tuple(row_starts))
    steps = len(input_raster)
    per_step = torch.zeros(len(sizes), steps, dtype=torch.int64, device=device)
    counts = [torch.zeros(n, dtype=torch.int64, device=device) for n in sizes]
    trains = [[] for _ in sizes] if record_trains else None
    watched = {layer: torch.as_tensor(indices, dtype=torch.int64, device=device)
               for layer, indices in enumerate(record_potentials or (), start=1) if len(indices)}
    potentials = {layer: torch.empty(steps, len(indices), dtype=dtype, device=device) for layer, indices in watched.items()}
    raster = torch.from_numpy(np.ascontiguousarray(input_raster))
    with tqdm(total=steps, desc="sleep (torch)", disable=not progress, leave=False, mininterval=0.5) as bar:
        for start in range(0, steps, 1000):
            chunk = raster[start:start + 1000].to(device)
            for offset in range(len(chunk)):
                step = start + offset
                spikes = sleep_step(chunk[offset], state, params)
                for layer, indices in watched.items():
                    potentials[layer][step] = state.potentials[layer - 1][indices]
                for layer, layer_spikes in enumerate(spikes):
                    per_step[layer, step] = layer_spikes.sum()
                    counts[layer] += layer_spikes
                    if trains is not None:
                        trains[layer].append(layer_spikes.nonzero().squeeze(1).cpu())
            bar.update(len(chunk))
    if trains is not None:
        trains = [(np.concatenate([np.full(len(t), step) for step, t in enumerate(layer)]).astype(np.int64),
                   torch.cat(layer).numpy().astype(np.int64)) for layer in trains]
    recording = SleepRecording(sizes, dt, per_step.cpu().numpy(), [c.cpu().numpy() for c in counts], trains,
                               {layer: (watched[layer].cpu().numpy(), values.to(torch.float64).cpu().numpy())
                                for layer, values in potentials.items()} or None)
    slept = network.with_weights(_final_weights(network, state.weights))
    return slept, recording
