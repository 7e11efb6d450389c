"""Experiment configuration: TOML in, validated typed objects out.

A config is data. It is validated once here (unknown keys, ranges, lengths
that must agree); the rest of the library receives these objects and does not
re-check them. ``default_config()`` is the embedded Patches experiment, the
same as ``experiments/patches.toml``.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Annotated, Literal

import tomli_w
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from bio_sleep.errors import BioSleepError


class _Section(BaseModel):
    """The base of every config section: unknown keys, NaN/inf floats, booleans or floats given for integers
    and strings given for numbers are all errors (strict: a TOML ``steps = true`` is not 1 step)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


def _plain_name(name: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
        raise ValueError(
            f"'{name}' is not a plain folder name (letters, digits, '.', '_', '-'; no '/' or '..'): "
            "it names the output folder inside output_dir"
        )
    return name


def _distinct(values: list) -> list:
    repeated = sorted({v for v in values if values.count(v) > 1})
    if repeated:
        raise ValueError(f"the values {repeated} appear more than once; list each value once")
    return values


# The name of a run (or study, search) folder: one path component.
RunName = Annotated[str, AfterValidator(_plain_name)]
# numpy's and torch's seeds are unsigned 32-bit integers at the narrowest.
Seed = Annotated[int, Field(ge=0, le=2**32 - 1, description="Random seed, 0 .. 2**32 - 1.")]
# Levels of a sweep: each computed once, so each listed once.
Levels = Annotated[list[float], AfterValidator(_distinct)]


def _known_device(device: str) -> str:
    if not re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", device):
        raise ValueError(f"'{device}' is not a torch device; use 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'")
    if device.startswith("cuda"):
        import torch

        available = torch.cuda.device_count()
        if int(device.partition(":")[2] or 0) >= available:
            raise ValueError(f"'{device}' but this machine has {available} CUDA device(s); use 'auto' or 'cpu'")
    return device


# Where torch computes: 'auto' is CUDA where this machine has it, else the CPU (bio_sleep.models.device).
Device = Annotated[str, AfterValidator(_known_device)]


class DataConfig(_Section):
    """Which dataset, where it lives, and how much of it to use."""

    dataset: Literal["patches", "mnist", "fashion_mnist", "npz"] = "patches"
    root: str = Field(
        "", description="Data root for torchvision sets; empty: $BIO_SLEEP_DATA or ~/.cache/bio_sleep/data."
    )
    path: str = Field("", description="The .npz file when dataset = 'npz'.")
    download: bool = Field(False, description="Let torchvision download missing files (needs internet).")
    train_samples: int | None = Field(None, ge=1, description="Use only the first N training samples.")
    test_samples: int | None = Field(None, ge=1, description="Use only the first N test samples.")
    patches_train_copies: int = Field(
        250, ge=1, description="Patches: noise-free copies of each image in the training set."
    )
    patches_test_copies: int = Field(
        250, ge=1, description="Patches: copies of each image in the test set (distortions are drawn per copy)."
    )


class ModelConfig(_Section):
    """A bias-free fully connected ReLU network."""

    widths: list[int] = Field([100, 4], min_length=2, description="Units per layer, input first.")
    dropout: float = Field(0.0, ge=0.0, lt=1.0, description="Dropout probability after each hidden layer.")
    output: Literal["relu", "linear"] = Field(
        "linear", description="Activation of the output layer (relu: the authors' MSE set-up)."
    )
    init: Literal["torch_default", "uniform", "deeplearntoolbox"] = Field(
        "uniform",
        description="uniform: U(-init_range, init_range), the authors' MNIST scripts; deeplearntoolbox: "
        "U(-r, r), r = 4 sqrt(6 / (fan_in + fan_out)), DeepLearnToolbox's nnsetup default.",
    )
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
    loss: Literal["mse", "cross_entropy"] = Field(
        "mse", description="mse on one-hot targets (the authors') or cross-entropy."
    )
    device: Device = Field(
        "auto",
        description="Where the network is trained and evaluated (sweeps, attacks, defences): "
        "auto (CUDA where available), cpu, cuda, cuda:N, mps.",
    )


class SleepConfig(_Section):
    """The sleep phase: conversion, dynamics, plasticity and how it is simulated."""

    backend: Literal["brian2", "torch"] = "brian2"
    brian2_target: Literal["cpp_standalone", "cython"] = "cpp_standalone"
    torch_device: Device = Field(
        "cpu",
        description="torch backend's device: cpu (float64 there is bit-identical to Brian2), auto, cuda, cuda:N, mps.",
    )
    torch_dtype: Literal["float64", "float32"] = "float64"
    threads: int | None = Field(
        None, ge=1, description="CPU threads of the sleep (torch, Brian2 OpenMP); empty: the CPUs this process may use."
    )
    steps: int = Field(
        3000,
        ge=1,
        le=10**7,
        description="Sleep duration in time steps (at most 10^7: the input raster is held in memory).",
    )
    dt: float = Field(0.001, gt=0, description="Time step in seconds.")
    max_rate: float = Field(16.0, gt=0, description="Maximum input firing rate f_max in Hz.")
    spike_probability: Literal["paper", "authors"] = Field(
        "paper", description="paper: p = x*f_max*dt per step; authors' code: p = 2*x*f_max*dt."
    )
    input_mode: Literal["mean_image", "sequential_images", "masked_window"] = "mean_image"
    mask_size: int = Field(11, ge=1, description="Side of the random window kept each step (masked_window).")
    thresholds: list[float] = Field([1.045], min_length=1, description="Firing threshold (beta) per weight layer.")
    alpha_scale: float = Field(
        4.25, gt=0, description="Synaptic scale ('AMPA current') multiplying every layer's factor."
    )
    decay: float = Field(0.999, description="Membrane decay per step, in (0, 1].")
    inc: float = Field(0.0035, ge=0, description="STDP increase when pre and post spike.")
    dec: float = Field(0.0002, ge=0, description="STDP decrease (a magnitude) when post spikes alone.")
    stdp_rule: Literal["constant", "weight_dependent"] = Field(
        "constant",
        description="constant: the paper's inc/dec; "
        "weight_dependent: times 2(1 - sigmoid(W/0.001)), the authors' code.",
    )
    spike_condition: Literal["above", "at_or_above"] = Field(
        "above", description="above: v > threshold (paper); at_or_above: v >= threshold (authors' code)."
    )
    normalisation: Literal["authors", "authors_eval_mode", "diehl"] = Field(
        "authors",
        description="authors: their chained factors on their non-inverted-dropout network (torch units); "
        "authors_eval_mode: the same chaining on torch eval-mode maxima; diehl: the textbook rule.",
    )
    normalisation_samples: int = Field(10000, ge=1, description="Training samples used for data-based normalisation.")
    record_spike_trains: bool = False
    record_potentials: dict[str, list[int]] = Field(
        {}, description="Membrane potentials recorded every step, by layer name: {hidden_1 = [0, 7], output = [3]}."
    )
    # Rate calibration (bio_sleep.sleep.calibration): thresholds searched to give these rates.
    target_rates: list[float] | None = Field(
        None,
        min_length=1,
        description="Spikes per neuron per step over the sleep, per weight layer or one for all; "
        "replaces thresholds (then only the search's start values); 0 keeps that layer's threshold.",
    )
    calibration_steps: int | None = Field(
        None, ge=1, description="Steps of each calibration run (the sleep's first ones); empty: the whole sleep."
    )
    calibration_tolerance: float = Field(0.1, gt=0, lt=1, description="Relative error allowed on each target rate.")

    @model_validator(mode="after")
    def _check_target_rates(self):
        if self.target_rates is None:
            return self
        if len(self.target_rates) not in (1, len(self.thresholds)):
            raise ValueError(
                f"sleep.target_rates has {len(self.target_rates)} values for {len(self.thresholds)} "
                "thresholds; give one per threshold (weight layer) or one for all"
            )
        if any(not 0.0 <= rate < 1.0 for rate in self.target_rates) or not any(self.target_rates):
            raise ValueError(
                f"every target rate must lie in [0, 1) spikes per neuron per step (0: keep that layer's "
                f"threshold) and one must be > 0, got {self.target_rates}"
            )
        return self

    @property
    def probability_factor(self) -> float:
        """Spike probability per step of an input of value 1 per Hz and second: 1 (paper) or 2 (authors' code)."""
        return 2.0 if self.spike_probability == "authors" else 1.0

    @property
    def input_probability(self) -> float:
        """Spike probability per step of an input of value 1."""
        return self.probability_factor * self.max_rate * self.dt

    @model_validator(mode="after")
    def _check_ranges(self):
        if not 0.0 < self.decay <= 1.0:
            raise ValueError(f"decay must lie in (0, 1], got {self.decay}; 1 means no leak")
        if any(t <= 0 for t in self.thresholds):
            raise ValueError(f"every threshold must be > 0, got {self.thresholds}")
        if self.input_probability > 1.0:
            raise ValueError(
                f"max_rate * dt gives a spike probability of {self.input_probability:.3g} per step (> 1); "
                f"lower max_rate below {1.0 / (self.probability_factor * self.dt):.4g} Hz or shorten dt"
            )
        return self


class EvaluationConfig(_Section):
    """Distortion sweeps; images are clipped to [0, 1] after distortion."""

    noise_levels: Levels = Field([0.0, 0.1, 0.3, 0.5, 0.7, 0.9])
    noise_level_is: Literal["variance", "std"] = Field(
        "variance", description="How noise_levels are read (the authors' code: variance)."
    )
    blur_sigmas: Levels = Field([0.0, 0.5, 1.0, 1.5, 2.0, 2.5])
    batch_size: int = Field(1000, ge=1)

    @model_validator(mode="after")
    def _non_negative(self):
        if any(v < 0 for v in self.noise_levels + self.blur_sigmas):
            raise ValueError("noise levels and blur sigmas must be >= 0")
        return self


class ExperimentConfig(_Section):
    """Everything one run needs; the file written next to its results."""

    name: RunName = "patches"
    seed: Seed = 0
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
                f"{self.model.widths} has {n_layers} weight layers; give one threshold per layer"
            )
        widths = {f"hidden_{k}": width for k, width in enumerate(self.model.widths[1:-1], start=1)}
        widths["output"] = self.model.widths[-1]
        for name, indices in self.sleep.record_potentials.items():
            if name not in widths:
                raise ValueError(f"sleep.record_potentials names layer '{name}'; this network has {sorted(widths)}")
            if any(not 0 <= i < widths[name] for i in indices):
                raise ValueError(f"sleep.record_potentials.{name} holds neurons outside 0..{widths[name] - 1}")
        return self


def experiment_kind(experiment) -> str:
    """'cnn' for an SRC experiment (its model is a list of ``layers``), else 'fc'; takes a config or its dict."""
    model = experiment.get("model", {}) if isinstance(experiment, dict) else experiment.model
    return "cnn" if ("layers" in model if isinstance(model, dict) else hasattr(model, "layers")) else "fc"


def default_config() -> ExperimentConfig:
    """The embedded default: the Patches toy experiment."""
    return ExperimentConfig()


# The fix for the strict checks whose pydantic message names only the problem.
FIXES = {
    "int_type": "; write a whole number such as 3000 (no decimal point; true/false are not numbers)",
    "int_from_float": "; write a whole number such as 3000 (no decimal point)",
    "float_type": "; write a number such as 0.5 (true/false and text are not numbers)",
    "finite_number": "; NaN and infinity are not allowed: give a finite number",
    "string_type": "; write text in quotes",
    "bool_type": "; write true or false",
}


def _explain(error: ValidationError, source: str) -> str:
    problems = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "(top level)"
        if item["type"] == "extra_forbidden":
            problems.append(
                f"unknown key '{where}': remove it or check its spelling (`bio-sleep config` prints every key)"
            )
        elif item["type"] in ("value_error", "assertion_error"):
            problems.append(f"{where}: {item['msg'].removeprefix('Value error, ')}")
        else:
            hint = FIXES.get(item["type"], "")
            problems.append(f"{where}: {item['msg']} (got {item['input']!r}){hint}")
    if len(problems) == 1:
        return f"invalid configuration in {source}: {problems[0]}"
    return "\n  - ".join([f"invalid configuration in {source}:", *problems])


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
        values = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise BioSleepError(f"{path} is not valid TOML: {error}") from None
    if not values:
        # An empty file would otherwise silently run the default experiment.
        raise BioSleepError(
            f"{path} holds no settings; a minimal config names the experiment and its data, e.g. "
            f'name = "my_run" and [data] dataset = "mnist"; start from a complete one with '
            f"`bio-sleep config > my.toml` or `bio-sleep config {example} > my.toml`"
        )
    return values


def parse_overrides(assignments: list[str] | None) -> dict:
    """``["sleep.steps=3000", "data.root=/data"]`` as nested ``{"sleep": {"steps": 3000}, ...}``; each value is
    read as a TOML value (3000, 0.5, true, [1.0, 2.0], "text"), a bare word that is not one as a string."""
    overrides: dict = {}
    for assignment in assignments or ():
        key, sep, text = assignment.partition("=")
        parts = key.strip().split(".")
        if not sep or not all(re.fullmatch(r"[A-Za-z0-9_-]+", part) for part in parts):
            raise BioSleepError(
                f"--set {assignment}: expected KEY=VALUE with a dotted key, e.g. --set sleep.steps=3000"
            )
        try:
            value = tomllib.loads(f"value = {text.strip()}")["value"]
        except tomllib.TOMLDecodeError:
            value = text.strip()
        table = overrides
        for part in parts[:-1]:
            table = table.setdefault(part, {})
            if not isinstance(table, dict):
                raise BioSleepError(f"--set {assignment} conflicts with another --set of '{part}'")
        table[parts[-1]] = value
    return overrides


def merged(values: dict | list, overrides: dict) -> dict | list:
    """``values`` (a config's dict; a config object inside it is taken as its dict) with ``overrides`` laid over
    it, table by table; in a list, a key that is an index replaces that element (``sleep.thresholds.1``)."""
    if isinstance(values, list):
        result = list(values)
        for key, value in overrides.items():
            if not (key.isdigit() and int(key) < len(result)):
                raise BioSleepError(f"'{key}' is not an index of the list {values} (0..{len(values) - 1})")
            result[int(key)] = merged(result[int(key)], value) if isinstance(value, dict) else value
        return result
    result = dict(values)
    for key, value in overrides.items():
        current = result.get(key)
        if isinstance(current, BaseModel):
            current = current.model_dump()
        nested = isinstance(value, dict) and isinstance(current, dict | list)
        result[key] = merged(current, value) if nested else value
    return result


def load_config(
    path: str | Path,
    kind: type[BaseModel] = ExperimentConfig,
    example: str = "experiments/patches.toml",
    overrides: dict | None = None,
):
    """Read and validate a TOML config as ``kind`` (an ExperimentConfig by default), ``overrides`` (nested, as
    from ``parse_overrides``) applied before validation."""
    return config_from_dict(merged(read_toml(path, example), overrides or {}), str(path), kind)


def with_overrides(config, overrides: dict, source: str = "overrides"):
    """A copy of ``config`` (of the same config class) with nested ``{"sleep": {"decay": 0.99}}``-style
    values replaced, re-validated: the one way to change a validated config."""
    return config_from_dict(merged(config.model_dump(), overrides), source, type(config))


def config_to_toml(config: BaseModel) -> str:
    """The exact config as TOML (None values, which TOML cannot hold, are left out)."""

    def drop_none(values):
        return {k: drop_none(v) if isinstance(v, dict) else v for k, v in values.items() if v is not None}

    return tomli_w.dumps(drop_none(config.model_dump(mode="json")))


class ExecutionConfig(_Section):
    """Where the independent pieces of a command (study points, search trials, SRC trials) run: an embedded
    local Dask cluster, or an existing scheduler (``bio_sleep.execution.dask_client``)."""

    workers: int = Field(1, ge=1, description="worker processes of the embedded cluster (one thread each)")
    scheduler: str = Field("", description="address of an existing Dask scheduler, e.g. tcp://host:8786")
    connect_timeout: float = Field(5.0, gt=0, description="seconds to wait for the scheduler")


# Where and on how many threads torch computes stay out of a run folder's identity, so a folder written before they
# existed still resumes. Float64 sleeps are bit-identical at any thread count; float32 training differs in its last
# bits between devices and thread counts, as it does between CPUs, which nothing in a config could name either
# ("auto" names no device).
EXECUTION_SETTINGS = {"training": {"device"}, "sleep": {"threads"}}


def result_identity(config: BaseModel, exclude: set[str] = frozenset()) -> dict:
    """The settings that determine a run folder's results: the config without ``output_dir``, ``exclude`` and
    :data:`EXECUTION_SETTINGS`."""
    fields = type(config).model_fields
    nested = {section: keys for section, keys in EXECUTION_SETTINGS.items() if section in fields}
    return config.model_dump(mode="json", exclude={"output_dir": True, **{k: True for k in exclude}, **nested})
