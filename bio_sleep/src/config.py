"""The SRC experiment config: the core sections plus CNN, FFF, fine-tuning and Gradient Expansion sections."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from bio_sleep.config import (
    DataConfig,
    Levels,
    RunName,
    Seed,
    SleepConfig,
    TrainingConfig,
    _Section,
    config_from_dict,
    load_config,
)
from bio_sleep.evaluation.levels import DISTORTION_NAMES


class ImageDataConfig(DataConfig):
    """DataConfig with CIFAR-10 (official files or an image folder, see bio_sleep.data.image_folder)."""

    dataset: Literal["mnist", "fashion_mnist", "cifar10", "npz"] = "mnist"


# The whole-number sizes of each layer type: a TOML layer table is free-form, so they are checked here.
LAYER_SIZES = {
    "conv": ("out_channels", "kernel_size"),
    "linear": ("out_features",),
    "maxpool": ("size",),
    "avgpool": ("size",),
}


class CnnModelConfig(_Section):
    """A bias-free CNN as a list of layer specs (see bio_sleep.models.cnn)."""

    input_shape: list[int] = Field([1, 28, 28], min_length=3, max_length=3, description="(channels, height, width)")
    layers: list[dict] = Field(description="Layer specs, e.g. {type = 'conv', out_channels = 10, kernel_size = 3}.")

    @model_validator(mode="after")
    def _buildable(self):
        if min(self.input_shape) < 1:
            raise ValueError(f"input_shape {self.input_shape} must hold (channels, height, width), each >= 1")
        for index, spec in enumerate(self.layers):
            for key in LAYER_SIZES.get(spec.get("type"), ()):
                value = spec.get(key, 2 if key == "size" else None)
                if type(value) is not int or value < 1:
                    raise ValueError(
                        f"model layer {index} ({spec['type']}): {key} = {value!r} must be a whole number "
                        f">= 1 (kernels and windows are square: kernel_size = 3, not [3, 3])"
                    )
            p = spec.get("p", 0.5)
            if spec.get("type") == "dropout" and not (type(p) in (int, float) and 0 <= p < 1):
                raise ValueError(f"model layer {index} (dropout): p = {p!r} must be a number in [0, 1)")
        from bio_sleep.models.cnn import (
            build_cnn,  # torch, only when an SRC config is read
        )

        build_cnn(self.layers, tuple(self.input_shape))  # raises BioSleepError naming the bad layer
        return self


class FitConfig(_Section):
    """Feedforward Fitting: retrain the FC head on clean data, convolutions frozen (Section III-B)."""

    epochs: int = Field(1, ge=0)
    learning_rate: float = Field(0.01, gt=0)


class FineTuneConfig(_Section):
    """Fine-tuning baselines (Section III-C): clean data plus one distorted copy per level."""

    epochs: int = Field(10, ge=0)
    learning_rate: float = Field(0.05, gt=0)
    levels: dict[str, Levels] = Field(
        description="Per distortion, the levels of its distorted copies (six in the paper)."
    )


class GradientExpansionConfig(_Section):
    """Gradient Expansion (Section III-D, Eq. 1): alphas per trial, one per conv layer (Table V)."""

    alphas: list[list[float]] = Field(description="alphas[trial][conv layer]; trial k uses alphas[k % len(alphas)].")


class SweepConfig(_Section):
    sweeps: dict[str, Levels] = Field(description="Per distortion, the intensities evaluated.")
    batch_size: int = Field(1000, ge=1)


class SrcExperimentConfig(_Section):
    """One reproduction: train, SRC, FFF and the baselines over ``trials`` seeds, evaluated on distortion sweeps."""

    name: RunName
    seed: Seed = Field(0, description="Trial k uses seed + k for initialisation, sample order and sleep input.")
    trials: int = Field(10, ge=1)
    output_dir: str = "runs"
    models: list[Literal["baseline", "src", "src_fff", "grad_exp", "grad_exp_fff", "finetune", "finetune_all"]] = [
        "baseline",
        "src",
        "src_fff",
    ]
    data: ImageDataConfig
    model: CnnModelConfig
    training: TrainingConfig
    sleep: SleepConfig
    fff: FitConfig
    finetune: FineTuneConfig | None = None
    gradient_expansion: GradientExpansionConfig | None = None
    evaluation: SweepConfig

    @model_validator(mode="after")
    def _sections_present(self):
        unknown = [d for d in self.evaluation.sweeps if d not in DISTORTION_NAMES]
        if self.finetune is not None:
            unknown += [d for d in self.finetune.levels if d not in DISTORTION_NAMES]
        if unknown:
            raise ValueError(f"unknown distortions {unknown}; choose from {sorted(DISTORTION_NAMES)}")
        if {"grad_exp", "grad_exp_fff"} & set(self.models) and self.gradient_expansion is None:
            raise ValueError("models grad_exp / grad_exp_fff need a [gradient_expansion] section with alphas")
        if {"finetune", "finetune_all"} & set(self.models) and self.finetune is None:
            raise ValueError("models finetune / finetune_all need a [finetune] section with levels")
        n_conv = sum(layer.get("type") == "conv" for layer in self.model.layers)
        if self.gradient_expansion is not None and any(len(a) != n_conv for a in self.gradient_expansion.alphas):
            raise ValueError(f"every gradient_expansion.alphas row needs {n_conv} values, one per conv layer")
        if len(self.sleep.thresholds) < n_conv:
            raise ValueError(
                f"sleep.thresholds has {len(self.sleep.thresholds)} values for {n_conv} conv layers; "
                "give one per simulated weight layer, the conv layers at least"
            )
        return self


def src_config_from_dict(values: dict, source: str = "config") -> SrcExperimentConfig:
    """Validate a nested dict into an SrcExperimentConfig."""
    return config_from_dict(values, source, SrcExperimentConfig)


def load_src_config(path: str | Path, overrides: dict | None = None) -> SrcExperimentConfig:
    """Read and validate an SRC experiment TOML (e.g. experiments/src_mnist_figure2.toml); ``overrides`` as in
    ``bio_sleep.config.load_config``."""
    return load_config(path, SrcExperimentConfig, "experiments/src_mnist_figure2.toml", overrides)
