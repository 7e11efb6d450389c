"""Experiment configuration: TOML in, validated typed objects out.

A config is data. It is validated once here (unknown keys, ranges, lengths
that must agree); the rest of the library receives these objects and does not
re-check them. ``default_config()`` is the embedded Patches experiment, the
same as ``experiments/patches.toml``.
"""
from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

import tomli_w
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from bio_sleep.errors import BioSleepError


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataConfig(_Section):
    """Which dataset, where it lives, and how much of it to use."""

    dataset: Literal["patches", "mnist", "fashion_mnist", "npz"] = "patches"
    root: str = Field("", description="Data root for torchvision sets; empty: $BIO_SLEEP_DATA or ~/.cache/bio_sleep/data.")
    path: str = Field("", description="The .npz file when dataset = 'npz'.")
    download: bool = Field(False, description="Let torchvision download missing files (needs internet).")
    train_samples: int | None = Field(None, ge=1, description="Use only the first N training samples.")
    test_samples: int | None = Field(None, ge=1, description="Use only the first N test samples.")
    patches_train_copies: int = Field(250, ge=1, description="Patches: noise-free copies of each image in the training set.")
    patches_test_copies: int = Field(250, ge=1, description="Patches: copies of each image in the test set (distortions are drawn per copy).")


class ModelConfig(_Section):
    """A bias-free fully connected ReLU network."""

    widths: list[int] = Field([100, 4], min_length=2, description="Units per layer, input first.")
    dropout: float = Field(0.0, ge=0.0, lt=1.0, description="Dropout probability after each hidden layer.")
    output: Literal["relu", "linear"] = Field("linear", description="Activation of the output layer (relu: the authors' MSE set-up).")
    init: Literal["torch_default", "uniform"] = Field("uniform", description="uniform: U(-init_range, init_range), the authors' code.")
    init_range: float = Field(0.01, gt=0, description="Half-width of U(-r, r) when init = 'uniform'.")

    @model_validator(mode="after")
    def _positive_widths(self):
        if any(w < 1 for w in self.widths):
            raise ValueError(f"every layer width must be >= 1, got {self.widths}")
        return self


class TrainingConfig(_Section):
    """Plain SGD with momentum, as in the papers."""

    epochs: int = Field(1, ge=0)
    learning_rate: float = Field(0.1, gt=0)
    momentum: float = Field(0.5, ge=0, lt=1)
    batch_size: int = Field(100, ge=1)
    loss: Literal["mse", "cross_entropy"] = Field("mse", description="mse on one-hot targets (the authors') or cross-entropy.")


class SleepConfig(_Section):
    """The sleep phase: conversion, dynamics, plasticity and how it is simulated."""

    backend: Literal["brian2", "torch"] = "brian2"
    brian2_target: Literal["cpp_standalone", "cython"] = "cpp_standalone"
    torch_device: str = "cpu"
    torch_dtype: Literal["float64", "float32"] = "float64"
    steps: int = Field(3000, ge=1, description="Sleep duration in time steps.")
    dt: float = Field(0.001, gt=0, description="Time step in seconds.")
    max_rate: float = Field(16.0, gt=0, description="Maximum input firing rate f_max in Hz.")
    spike_probability: Literal["paper", "authors"] = Field(
        "paper", description="paper: p = x*f_max*dt per step; authors' code: p = 2*x*f_max*dt.")
    input_mode: Literal["mean_image", "sequential_images", "masked_window"] = "mean_image"
    mask_size: int = Field(11, ge=1, description="Side of the random window kept each step (masked_window).")
    thresholds: list[float] = Field([1.045], min_length=1, description="Firing threshold (beta) per weight layer.")
    alpha_scale: float = Field(4.25, gt=0, description="Synaptic scale ('AMPA current') multiplying every layer's factor.")
    decay: float = Field(0.999, description="Membrane decay per step, in (0, 1].")
    inc: float = Field(0.0035, ge=0, description="STDP increase when pre and post spike.")
    dec: float = Field(0.0002, ge=0, description="STDP decrease (a magnitude) when post spikes alone.")
    stdp_rule: Literal["constant", "weight_dependent"] = Field(
        "constant", description="constant: the paper's inc/dec; weight_dependent: times 2(1 - sigmoid(W/0.001)), the authors' code.")
    spike_condition: Literal["above", "at_or_above"] = Field(
        "above", description="above: v > threshold (paper); at_or_above: v >= threshold (authors' code).")
    normalisation: Literal["authors", "authors_eval_mode", "diehl"] = Field(
        "authors", description="authors: their chained factors on their non-inverted-dropout network (torch units); "
        "authors_eval_mode: the same chaining on torch eval-mode maxima; diehl: the textbook rule.")
    normalisation_samples: int = Field(10000, ge=1, description="Training samples used for data-based normalisation.")
    record_spike_trains: bool = False
    record_potentials: dict[str, list[int]] = Field(
        {}, description="Membrane potentials recorded every step, by layer name: {hidden_1 = [0, 7], output = [3]}.")
    # Rate calibration (bio_sleep.sleep.calibration): thresholds searched to give these rates.
    target_rates: list[float] | None = Field(
        None, min_length=1, description="Spikes per neuron per step over the sleep, per weight layer or one for all; "
        "replaces thresholds (then only the search's start values); 0 keeps that layer's threshold.")
    calibration_steps: int | None = Field(
        None, ge=1, description="Steps of each calibration run (the sleep's first ones); empty: the whole sleep.")
    calibration_tolerance: float = Field(0.1, gt=0, lt=1, description="Relative error allowed on each target rate.")

    @model_validator(mode="after")
    def _check_target_rates(self):
        if self.target_rates is None:
            return self
        if len(self.target_rates) not in (1, len(self.thresholds)):
            raise ValueError(f"sleep.target_rates has {len(self.target_rates)} values for {len(self.thresholds)} "
                             "thresholds; give one per threshold (weight layer) or one for all")
        if any(not 0.0 <= rate < 1.0 for rate in self.target_rates) or not any(self.target_rates):
            raise ValueError(f"every target rate must lie in [0, 1) spikes per neuron per step (0: keep that layer's "
                             f"threshold) and one must be > 0, got {self.target_rates}")
        return self

    @model_validator(mode="after")
    def _check_ranges(self):
        if not 0.0 < self.decay <= 1.0:
            raise ValueError(f"decay must lie in (0, 1], got {self.decay}; 1 means no leak")
        if any(t <= 0 for t in self.thresholds):
            raise ValueError(f"every threshold must be > 0, got {self.thresholds}")
        factor = 2.0 if self.spike_probability == "authors" else 1.0
        p = factor * self.max_rate * self.dt
        if p > 1.0:
            raise ValueError(
                f"max_rate * dt gives a spike probability of {p:.3g} per step (> 1); "
                f"lower max_rate below {1.0 / (factor * self.dt):.4g} Hz or shorten dt")
        return self


class EvaluationConfig(_Section):
    """Distortion sweeps; images are clipped to [0, 1] after distortion."""

    noise_levels: list[float] = Field([0.0, 0.1, 0.3, 0.5, 0.7, 0.9])
    noise_level_is: Literal["variance", "std"] = Field("variance", description="How noise_levels are read (the authors' code: variance).")
    blur_sigmas: list[float] = Field([0.0, 0.5, 1.0, 1.5, 2.0, 2.5])
    batch_size: int = Field(1000, ge=1)

    @model_validator(mode="after")
    def _non_negative(self):
        if any(v < 0 for v in self.noise_levels + self.blur_sigmas):
            raise ValueError("noise levels and blur sigmas must be >= 0")
        return self


class ExperimentConfig(_Section):
    """Everything one run needs; the file written next to its results."""

    name: str = "patches"
    seed: int = 0
    output_dir: str = "runs"
    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()
    training: TrainingConfig = TrainingConfig()
    sleep: SleepConfig = SleepConfig()
    evaluation: EvaluationConfig = EvaluationConfig()

    @model_validator(mode="after")
    def _layers_agree(self):
        n_layers = len(self.model.widths) - 1
        if len(self.sleep.thresholds) != n_layers:
            raise ValueError(
                f"sleep.thresholds has {len(self.sleep.thresholds)} values but model.widths "
                f"{self.model.widths} has {n_layers} weight layers; give one threshold per layer")
        widths = {f"hidden_{k}": width for k, width in enumerate(self.model.widths[1:-1], start=1)}
        widths["output"] = self.model.widths[-1]
        for name, indices in self.sleep.record_potentials.items():
            if name not in widths:
                raise ValueError(f"sleep.record_potentials names layer '{name}'; this network has {sorted(widths)}")
            if any(not 0 <= i < widths[name] for i in indices):
                raise ValueError(f"sleep.record_potentials.{name} holds neurons outside 0..{widths[name] - 1}")
        return self


def default_config() -> ExperimentConfig:
    """The embedded default: the Patches toy experiment."""
    return ExperimentConfig()


def _explain(error: ValidationError, source: str) -> str:
    lines = [f"invalid configuration in {source}:"]
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "(top level)"
        if item["type"] == "extra_forbidden":
            lines.append(f"  - unknown key '{where}': remove it or check its spelling (see `bio-sleep run --help`)")
        else:
            lines.append(f"  - {where}: {item['msg']}")
    return "\n".join(lines)


def config_from_dict(values: dict, source: str = "config", kind: type[BaseModel] = ExperimentConfig):
    """Validate a nested dict (as read from TOML) into ``kind`` (an ExperimentConfig by default)."""
    try:
        return kind.model_validate(values)
    except ValidationError as error:
        raise BioSleepError(_explain(error, source)) from None


def read_toml(path: str | Path, example: str = "experiments/patches.toml") -> dict:
    """The contents of a TOML file, or a BioSleepError naming what is wrong with it."""
    path = Path(path)
    if not path.is_file():
        raise BioSleepError(f"config file {path} does not exist; pass the path of a .toml file such as {example}")
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as error:
        raise BioSleepError(f"{path} is not valid TOML: {error}") from None


def load_config(path: str | Path, kind: type[BaseModel] = ExperimentConfig, example: str = "experiments/patches.toml"):
    """Read and validate a TOML config as ``kind`` (an ExperimentConfig by default)."""
    return config_from_dict(read_toml(path, example), str(path), kind)


def with_overrides(config, overrides: dict):
    """A copy of ``config`` (of the same config class) with nested ``{"sleep": {"decay": 0.99}}``-style
    values replaced, re-validated."""
    merged = config.model_dump()
    for section, values in overrides.items():
        if isinstance(values, dict) and isinstance(merged.get(section), dict):
            merged[section].update(values)
        else:
            merged[section] = values
    return config_from_dict(merged, "overrides", type(config))


def config_to_toml(config: BaseModel) -> str:
    """The exact config as TOML (None values, which TOML cannot hold, are left out)."""
    def drop_none(values):
        return {k: drop_none(v) if isinstance(v, dict) else v for k, v in values.items() if v is not None}
    return tomli_w.dumps(drop_none(config.model_dump(mode="json")))
