"""Sleep a trained torch model: convert, simulate on the chosen backend, convert back."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import torch
from torch import nn

from bio_sleep.converters import SleepDynamics, SpikingNetwork, as_sequential, to_spiking_network, to_torch
from bio_sleep.converters.to_spiking_cnn import cnn_to_spiking_network
from bio_sleep.errors import BioSleepError
from bio_sleep.sleep.calibration import Calibration, calibrate, calibrated_network
from bio_sleep.sleep.input_spikes import draw_input_spikes, probability_scale
from bio_sleep.sleep.recording import SleepRecording, layer_names
from bio_sleep.sleep.simulator import BuildPlan, simulator_for


@dataclass
class SleepResult:
    """The slept copy of the model and everything measured on the way."""

    model: nn.Module
    before: SpikingNetwork
    after: SpikingNetwork
    recording: SleepRecording
    simulate_seconds: float
    compile_seconds: float
    calibration: Calibration | None = None  # thresholds found for sleep.target_rates


def dynamics_from(config) -> SleepDynamics:
    """The layer-independent dynamics of a SleepConfig."""
    return SleepDynamics(config.decay, config.inc, config.dec, config.stdp_rule, config.spike_condition)


def watched_neurons(config, n_weight_layers: int) -> tuple[tuple[int, ...], ...]:
    """Per layer after the input, the neurons whose membrane potential the config asks to record."""
    names = layer_names(n_weight_layers + 1)[1:]
    unknown = sorted(set(config.record_potentials) - set(names))
    if unknown:
        raise BioSleepError(f"sleep.record_potentials names {unknown}, which this network does not have; use {names}")
    return tuple(tuple(config.record_potentials.get(name, ())) for name in names)


def simulate(
    network: SpikingNetwork, dynamics: SleepDynamics, raster, config, *, plastic=None, progress: bool = True
) -> tuple[SpikingNetwork, SleepRecording, float]:
    """Run one sleep on the backend ``config`` chooses; returns (slept network, recording, compile seconds).

    By default every dense layer is plastic; in a network with convolutions only the convolutions are.
    """
    plan = BuildPlan(
        tuple(plastic) if plastic is not None else network.default_plasticity(),
        config.dt,
        config.record_spike_trains,
        watched_neurons(config, len(network.weights)),
    )
    simulator = simulator_for(config)
    slept, recording = simulator.run(network, dynamics, raster, plan, progress=progress)
    return slept, replace(recording, thresholds=tuple(network.thresholds)), simulator.compile_seconds


def training_inputs(x_train, image_shape=None) -> tuple[torch.Tensor, tuple[int, ...] | None]:
    """Training inputs as a CPU float tensor in the shape given, and their image shape (C, H, W), if images.

    Accepts what a model takes: (N, D) vectors, (N, H, W) or (N, C, H, W) images (whose shape is then
    read from the array), as a tensor on any device or a numpy array.
    """
    x = torch.as_tensor(x_train).detach().cpu()
    if not torch.is_floating_point(x):
        x = x.float()
    if x.ndim not in (2, 3, 4):
        raise BioSleepError(f"training inputs of shape {tuple(x.shape)}: give (N, features), (N, H, W) or (N, C, H, W)")
    if x.ndim == 3:  # (N, H, W): one channel, as Conv2d takes it
        x = x.unsqueeze(1)
    if x.ndim == 4:
        shape = tuple(x.shape[1:])
        if image_shape is not None and tuple(image_shape) != shape:
            raise BioSleepError(
                f"image_shape {tuple(image_shape)} does not match the inputs' shape {shape}; "
                "leave image_shape out, it is read from the inputs"
            )
        image_shape = shape
    return x, (tuple(image_shape) if image_shape is not None else None)


def sleep_model(
    model: nn.Module, x_train, config, *, seed: int = 0, image_shape=None, progress: bool = True
) -> SleepResult:
    """Give ``model`` a sleep phase as ``config`` (a SleepConfig) describes; the model itself is untouched.

    ``model`` is an ``nn.Sequential`` or any module whose forward is a chain of supported layers
    (``converters.as_sequential``); ``x_train`` any input shape it takes (``training_inputs``). A model with
    Conv2d layers is converted by ``cnn_to_spiking_network`` (one threshold per simulated weight layer)
    and only its convolutions learn (SRC).
    """
    x_train, image_shape = training_inputs(x_train, image_shape)
    chain = as_sequential(model)
    x_normalise = x_train[: config.normalisation_samples]  # in the shape the model takes
    if any(isinstance(m, nn.Conv2d) for m in chain.modules()):
        network = cnn_to_spiking_network(
            chain, x_normalise, config.thresholds, config.alpha_scale, config.normalisation, image_shape
        )
    else:
        network = to_spiking_network(chain, x_normalise, config.thresholds, config.alpha_scale, config.normalisation)
    raster = draw_input_spikes(
        x_train.reshape(len(x_train), -1).numpy(),
        config.steps,
        probability_scale(config.max_rate, config.dt, config.spike_probability),
        config.input_mode,
        seed=seed,
        image_shape=image_shape,
        mask_size=config.mask_size,
    )
    calibration = calibrate(network, dynamics_from(config), raster, config) if config.target_rates else None
    network = calibrated_network(network, calibration) if calibration else network
    start = time.perf_counter()
    slept, recording, compile_seconds = simulate(network, dynamics_from(config), raster, config, progress=progress)
    seconds = time.perf_counter() - start - compile_seconds
    slept_model = to_torch(model, slept)
    # As in training: a diverged result is an error, never a saved model with infinite weights.
    diverged = [name for name, values in slept_model.state_dict().items() if not torch.isfinite(values).all()]
    if diverged:
        raise BioSleepError(
            f"sleep drove the weights {diverged} to infinity or NaN (inc = {config.inc:g}, "
            f"dec = {config.dec:g}, {config.steps} steps): lower sleep.inc and sleep.dec or shorten "
            "sleep.steps"
        )
    return SleepResult(
        slept_model,
        network,
        slept,
        recording,
        seconds,
        compile_seconds,
        calibration and calibration.with_achieved(recording, network),
    )
