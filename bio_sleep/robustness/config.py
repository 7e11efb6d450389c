"""The robustness study's config: the base experiment sections plus [study], [attacks] and [defences]."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, model_validator

from bio_sleep.attacks.params import PARAMS, BoundaryParams, DeepFoolParams, FGSMParams, JSMAParams
from bio_sleep.config import ExperimentConfig, SleepConfig, _Section, config_from_dict, load_config, with_overrides

# (low, high); TOML gives a list, which strict validation would not take as a tuple.
Range = Annotated[
    tuple[float, float], BeforeValidator(lambda value: tuple(value) if isinstance(value, list) else value)
]


class AttacksConfig(_Section):
    """Which attacks, on how many test samples, and each attack's settings."""

    names: list[str] = Field(list(PARAMS))
    samples: int | None = Field(None, ge=1, description="Attack the first N test samples (None: all of them).")
    samples_per_attack: dict[str, int] = Field(
        {}, description="Fewer samples for some attacks, e.g. {boundary = 100}: the first N of the attacked samples."
    )
    clip: Range | None = Field(
        None, description="Valid input range; None: [0, 1] for images, the training range for features."
    )
    workers: int = Field(1, ge=1, description="Processes sharing the Boundary attack's images (same results as 1).")
    fgsm: FGSMParams = FGSMParams()
    deepfool: DeepFoolParams = DeepFoolParams()
    jsma: JSMAParams = JSMAParams()
    boundary: BoundaryParams = BoundaryParams()

    @model_validator(mode="after")
    def _known(self):
        unknown = [name for name in self.names if name not in PARAMS]
        if unknown:
            raise ValueError(f"unknown attacks {unknown}; choose from {', '.join(PARAMS)}")
        for name, count in self.samples_per_attack.items():
            if name not in self.names:
                raise ValueError(
                    f"attacks.samples_per_attack names '{name}', which is not in attacks.names {self.names}"
                )
            if count < 1 or (self.samples is not None and count > self.samples):
                raise ValueError(
                    f"attacks.samples_per_attack.{name} = {count} must be between 1 and attacks.samples "
                    f"({self.samples})"
                )
        return self

    def samples_for(self, attack: str) -> int | None:
        """How many of the first test samples ``attack`` attacks (None: all)."""
        return self.samples_per_attack.get(attack, self.samples)


class DistillationConfig(_Section):
    temperature: float = Field(50.0, gt=0)
    epochs: int | None = Field(None, ge=1, description="None: the control's training epochs (the paper).")
    student_init: Literal["fresh", "teacher"] = "fresh"
    scale_learning_rate: bool = Field(
        True, description="Train at learning_rate * T (gradients through z/T shrink by 1/T)."
    )


class FineTuningConfig(_Section):
    learning_rate: float = Field(0.05, gt=0)
    epochs: int = Field(2, ge=1)
    adversarial_samples: dict[str, int] = Field(
        {"fgsm": 1000, "deepfool": 1000, "jsma": 1000, "boundary": 100},
        description="Training samples perturbed by each attack (against the control) for its fine-tuned network.",
    )
    distortions: list[str] = Field(
        ["gaussian_noise", "gaussian_blur"], description="One fine-tuned network per distortion."
    )

    @model_validator(mode="after")
    def _known_distortions(self):
        from bio_sleep.evaluation.levels import DISTORTION_NAMES

        unknown = sorted(set(self.distortions) - set(DISTORTION_NAMES))
        if unknown:
            raise ValueError(
                f"defences.fine_tuning.distortions names {unknown}; choose from {sorted(DISTORTION_NAMES)}"
            )
        return self


class DefencesConfig(_Section):
    distillation: DistillationConfig = DistillationConfig()
    fine_tuning: FineTuningConfig = FineTuningConfig()
    sleep_per_attack: dict[str, dict] = Field(
        {}, description="Sleep overrides for a separate slept network used on these attacks, e.g. {deepfool = {...}}."
    )


class StudyConfig(_Section):
    repeats: int = Field(
        1, ge=1, description="Seeds seed, seed+1, ...: networks retrained per seed; tables give mean ± sd."
    )
    paper_table: Literal["patches", "mnist", "cub200"] | None = Field(
        None, description="Whose paper numbers to print beside ours."
    )
    init_range: float | None = Field(
        None, gt=0, description="Weights U(-r, r) for distillation's fresh networks; None: model.init."
    )


class RobustnessConfig(ExperimentConfig):
    """ExperimentConfig + the robustness study's sections."""

    study: StudyConfig = StudyConfig()
    attacks: AttacksConfig = AttacksConfig()
    defences: DefencesConfig = DefencesConfig()

    def sleep_for(self, attack: str) -> SleepConfig:
        """The sleep section with ``defences.sleep_per_attack[attack]`` applied."""
        overrides = self.defences.sleep_per_attack.get(attack)
        return with_overrides(self.sleep, overrides) if overrides else self.sleep

    @model_validator(mode="after")
    def _sleep_overrides_valid(self):
        for attack in self.defences.sleep_per_attack:
            if attack not in ("fgsm", "deepfool", "jsma", "boundary"):
                raise ValueError(f"defences.sleep_per_attack names unknown attack '{attack}'")
            if len(self.sleep_for(attack).thresholds) != len(self.model.widths) - 1:
                raise ValueError(f"defences.sleep_per_attack.{attack}.thresholds needs one value per weight layer")
        return self


def robustness_config_from_dict(values: dict, source: str = "config") -> RobustnessConfig:
    """Validate a nested dict into a RobustnessConfig."""
    return config_from_dict(values, source, RobustnessConfig)


def load_robustness_config(path: str | Path, overrides: dict | None = None) -> RobustnessConfig:
    """Read and validate a robustness study TOML (``overrides`` as in ``bio_sleep.config.load_config``)."""
    return load_config(path, RobustnessConfig, "experiments/robustness_patches.toml", overrides)
