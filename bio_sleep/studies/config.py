"""A study: an experiment config, the sleep parameters to sweep, what to evaluate and where to run.

The experiment is a fully connected run config (``bio-sleep run``; a
``bio-sleep robustness`` config gives its networks and sleep) or an SRC config
(``bio-sleep src``, a CNN given by ``model.layers``); either way its
control network is trained once and every point sleeps a copy of it.
Swept parameters are named as fields of ``[sleep]`` (``decay``, ``alpha_scale``,
``inc``, ``dec``, ``max_rate``, ``steps``, ...), a per-layer threshold as
``thresholds.<layer index>``, a target rate as ``target_rates`` (one for every
layer) or ``target_rates.<layer index>`` (the other layers keep the experiment's
target rates, or, without any, their thresholds); a leading ``sleep.`` is
accepted. Every point is validated into a full experiment config before any
work starts.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Discriminator, Field, Tag, TypeAdapter, model_validator

from bio_sleep.attacks.params import FGSMParams
from bio_sleep.config import (
    ExecutionConfig,
    ExperimentConfig,
    Levels,
    RunName,
    Seed,
    SleepConfig,
    _Section,
    config_from_dict,
    experiment_kind,
    load_config,
    merged,
    read_toml,
    with_overrides,
)
from bio_sleep.errors import BioSleepError
from bio_sleep.src.config import SrcExperimentConfig, load_src_config

# Fields of SleepConfig that hold one number and may therefore be swept.
NUMERIC_SLEEP_FIELDS = sorted(
    name for name, field in SleepConfig.model_fields.items() if field.annotation in (int, float)
)


# A study's or search's experiment: a fully connected run config or an SRC (CNN) config.
Experiment = Annotated[
    Annotated[ExperimentConfig, Tag("fc")] | Annotated[SrcExperimentConfig, Tag("cnn")], Discriminator(experiment_kind)
]
EXPERIMENT_ADAPTER = TypeAdapter(Experiment)


# Sections of a robustness TOML that a run config lacks; a study or search uses the rest (its networks and sleep).
ROBUSTNESS_SECTIONS = ("study", "attacks", "defences")


def load_experiment(path: Path):
    """A run TOML as ExperimentConfig, an SRC TOML (``model.layers``) as SrcExperimentConfig; a robustness TOML
    (``bio-sleep robustness``) as the ExperimentConfig of its networks and sleep, so that a search can tune the
    values of a robustness table on the same networks."""
    values = read_toml(path)
    if experiment_kind(values) == "cnn":
        return load_src_config(path)
    if any(section in values for section in ROBUSTNESS_SECTIONS):
        from bio_sleep.robustness.config import load_robustness_config

        robustness = load_robustness_config(path)  # validated whole, so that its own errors are reported
        return ExperimentConfig(**{name: getattr(robustness, name) for name in ExperimentConfig.model_fields})
    return load_config(path)


# Attacks a study can score each point on; the others are too slow to run per point.
STUDY_ATTACKS = ("fgsm",)
ATTACK_FIELDS = {"attack", "attack_samples", "fgsm"}


class StudyEvaluation(_Section):
    """What each point is scored on; accuracy on clean inputs is always measured.

    ``attack = "fgsm"`` adds the ICLR paper's FGSM score on the first
    ``attack_samples`` of the same split: ``fgsm_score`` (median smallest
    flipping eta over correctly classified samples, inf beyond ``fgsm.eta_max``)
    and ``fgsm_success_rate``.
    """

    distortions: dict[str, Levels] = Field(default_factory=dict, description="distortion name -> levels")
    split: Literal["test", "validation"] = Field(
        "test", description="validation: the last validation_samples of the training set"
    )
    validation_samples: int = Field(0, ge=0, description="training samples held out from training and sleep")
    samples: int | None = Field(None, ge=1, description="evaluate on the first N samples of the split only")
    seed: Seed = 0
    attack: str | None = Field(None, description="'fgsm': also score each point on the FGSM attack; unset: no attack")
    attack_samples: int = Field(100, ge=1, description="attack the first N samples of the split")
    fgsm: FGSMParams = FGSMParams()

    @model_validator(mode="after")
    def _known(self):
        from bio_sleep.evaluation.levels import DISTORTION_NAMES

        if self.attack is not None and self.attack not in STUDY_ATTACKS:
            raise ValueError(
                f"unknown attack '{self.attack}' in [evaluation]; studies support {list(STUDY_ATTACKS)} "
                "(the ICLR paper's FGSM score); leave attack unset for no attack score"
            )
        unknown = sorted(set(self.distortions) - set(DISTORTION_NAMES))
        if unknown:
            raise ValueError(f"unknown distortion(s) {unknown}; choose from {sorted(DISTORTION_NAMES)}")
        if any(not levels for levels in self.distortions.values()):
            raise ValueError("every distortion needs at least one level")
        if self.split == "validation" and self.validation_samples < 1:
            raise ValueError("split = 'validation' needs validation_samples >= 1 (held out from the training set)")
        return self

    def fingerprint_content(self) -> dict:
        """The fields that determine results; without an attack its settings are left out (older hashes stay valid)."""
        return self.model_dump(mode="json", exclude=None if self.attack else ATTACK_FIELDS)


class StudyConfig(_Section):
    name: RunName = "study"
    experiment: Experiment
    grid: dict[str, Levels] = Field(
        default_factory=dict, description="parameter -> values; the points are all combinations"
    )
    points: list[dict[str, float]] = Field(default_factory=list, description="or an explicit list of points")
    evaluation: StudyEvaluation = StudyEvaluation()
    execution: ExecutionConfig = ExecutionConfig()

    @model_validator(mode="after")
    def _one_kind_of_sweep(self):
        if bool(self.grid) == bool(self.points):
            raise ValueError("give either a non-empty [grid] or a non-empty points list (not both)")
        if any(len(values) == 0 for values in self.grid.values()):
            empty = [name for name, values in self.grid.items() if not values]
            raise ValueError(f"grid parameter(s) {empty} have no values")
        names = list(self.grid) or sorted({name for point in self.points for name in point})
        for name in names:
            check_parameter(name, self.experiment)
        if len({canonical(name) for name in names}) < len(names):
            raise ValueError(f"the parameters {names} name one parameter twice (with and without 'sleep.'); keep one")
        if self.points and any(set(point) != set(self.points[0]) for point in self.points):
            raise ValueError("every point of the list must set the same parameters")
        canonical_points = [tuple(sorted((canonical(k), v) for k, v in point.items())) for point in self.points]
        repeated = sorted({repr(dict(p)) for p in canonical_points if canonical_points.count(p) > 1})
        if repeated:
            raise ValueError(f"the points {', '.join(repeated)} appear more than once; list each point once")
        return self

    @property
    def parameters(self) -> list[str]:
        return [canonical(name) for name in (self.grid or self.points[0])]

    def point_list(self) -> list[dict[str, float]]:
        if self.grid:
            return [dict(zip(self.parameters, values)) for values in itertools.product(*self.grid.values())]
        return [{canonical(k): v for k, v in point.items()} for point in self.points]

    def fingerprint(self) -> str:
        """Hash of everything that determines the results (not where they run)."""
        content = {
            **self.model_dump(mode="json", exclude={"execution"}),
            "evaluation": self.evaluation.fingerprint_content(),
        }
        return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:16]


def canonical(name: str) -> str:
    return name.removeprefix("sleep.")


def check_parameter(name: str, experiment) -> None:
    """Raise unless ``name`` is a sweepable sleep parameter of ``experiment``."""
    field, _, index = canonical(name).partition(".")
    n_layers = len(experiment.sleep.thresholds)
    if field == "thresholds" or field == "target_rates" and index:
        if not index.isdigit() or int(index) >= n_layers:
            raise ValueError(f"'{name}': name a layer's value as {field}.<0..{n_layers - 1}>")
    elif field not in NUMERIC_SLEEP_FIELDS + ["target_rates"] or index:
        raise ValueError(
            f"'{name}' is not a sweepable sleep parameter; choose from "
            f"{NUMERIC_SLEEP_FIELDS + [f'thresholds.{k}' for k in range(n_layers)]} or target_rates[.<layer>]"
        )


def check_range(name: str, low: float, high: float, experiment) -> None:
    """Raise unless both ends of ``[low, high]`` are valid values of sleep parameter ``name`` in ``experiment``."""
    for end in (low, high):
        try:
            apply_point(experiment, {name: end})
        except BioSleepError as error:
            raise ValueError(
                f"the range [{low:g}, {high:g}] of '{name}' reaches {end:g}, which is not a valid "
                f"value: {str(error).removeprefix('invalid configuration in overrides: ')}"
            ) from None


def apply_point(experiment, point: dict[str, float]):
    """``experiment`` with the point's sleep parameters set (validated again)."""
    sleep = experiment.sleep.model_dump()
    for name, value in point.items():
        field, _, index = canonical(name).partition(".")
        if field in ("thresholds", "target_rates") and index:
            # Without target rates in the experiment the other layers get 0: they keep their configured thresholds.
            values = list(sleep[field] if sleep[field] is not None else [0.0])
            values = values * len(sleep["thresholds"]) if len(values) == 1 else values  # one target for all
            values[int(index)] = float(value)
            sleep[field] = values
        elif field == "target_rates":
            sleep[field] = [float(value)]
        else:
            sleep[field] = int(value) if SleepConfig.model_fields[field].annotation is int else float(value)
    return with_overrides(experiment, {"sleep": sleep})


def with_experiment_loaded(values: dict, base: Path | None) -> dict:
    """``values`` with an ``experiment`` given as a path (relative to ``base``) replaced by the loaded config."""
    values = dict(values)
    if isinstance(values.get("experiment"), str):
        path = Path(values["experiment"])
        values["experiment"] = load_experiment(path if path.is_absolute() or base is None else base / path)
    return values


def study_from_dict(values: dict, source: str = "study", base: Path | None = None) -> StudyConfig:
    """Validate a study; ``experiment`` may be a path to an experiment TOML (relative to ``base``) or a table."""
    study = config_from_dict(with_experiment_loaded(values, base), source, StudyConfig)
    for point in study.point_list():
        try:
            apply_point(study.experiment, point)
        except BioSleepError as error:
            raise BioSleepError(f"point {point} of {source} is not a valid configuration:\n{error}") from None
    return study


def read_with_overrides(path: Path, example: str, overrides: dict | None) -> dict:
    """A study's or search's TOML with its experiment loaded (so that ``experiment.sleep.steps`` can be
    overridden even when the file names the experiment by path) and ``overrides`` laid over it."""
    values = read_toml(path, example)
    return merged(with_experiment_loaded(values, path.parent), overrides) if overrides else values


def load_study(path, overrides: dict | None = None) -> StudyConfig:
    """Read and validate a study TOML (``overrides`` as in ``bio_sleep.config.load_config``)."""
    path = Path(path)
    values = read_with_overrides(path, "experiments/study_patches_inc_threshold.toml", overrides)
    return study_from_dict(values, str(path), path.parent)
