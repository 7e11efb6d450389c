"""Search sleep parameters with Optuna (NSGA-II, the papers' genetic algorithm, by default), trials on Dask.

The objective is scored on a validation split held out from the training set
(never the test set). Trials live in an Optuna storage (SQLite in the output
folder by default, any database URL for many machines), so an interrupted
search continues; the best point is written as a ready-to-run experiment TOML.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from tqdm.auto import tqdm

from bio_sleep.config import RunName, Seed, config_from_dict, config_to_toml
from bio_sleep.errors import BioSleepError
from bio_sleep.execution import dask_client
from bio_sleep.run_folder import RunFolder
from bio_sleep.studies.config import (
    ExecutionConfig,
    Experiment,
    SleepConfig,
    StudyEvaluation,
    _Section,
    apply_point,
    canonical,
    check_parameter,
    check_range,
    read_with_overrides,
    with_experiment_loaded,
)
from bio_sleep.studies.runner import control_metrics, control_state, run_points
from bio_sleep.version import UNRECORDED, code_version

# Objectives where lower is better; every other objective (accuracies, fgsm_score) is maximised.
MINIMISED = {"fgsm_success_rate"}
# Scalar metrics of each trial kept as Optuna user attributes (columns of trials.csv).
TRIAL_METRICS = ("accuracy_clean", "mean_distorted_accuracy", "fgsm_score", "fgsm_success_rate")


class ParameterRange(_Section):
    low: float
    high: float
    log: bool = False

    @model_validator(mode="after")
    def _ordered(self):
        if not self.low < self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        if self.log and self.low <= 0:
            raise ValueError("a log range needs low > 0")
        return self


class Bound(_Section):
    """A metric's feasible interval: at least ``min``, at most ``max``, or both."""

    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _some_bound(self):
        if self.min is None and self.max is None:
            raise ValueError("a constraint needs min, max or both")
        if self.min is not None and self.max is not None and not self.min < self.max:
            raise ValueError(f"min ({self.min}) must be below max ({self.max})")
        return self

    def violations(self, name: str, value: float) -> dict[str, float]:
        """Each bound's violation, named ``"<metric> >= <min>"`` / ``"<metric> <= <max>"``; <= 0 is met (Optuna's
        convention); a NaN metric violates every bound."""
        violations = {}
        if self.min is not None:
            violations[f"{name} >= {self.min:g}"] = math.inf if math.isnan(value) else self.min - value
        if self.max is not None:
            violations[f"{name} <= {self.max:g}"] = math.inf if math.isnan(value) else value - self.max
        return violations


class SearchConfig(_Section):
    name: RunName = "search"
    experiment: Experiment
    parameters: dict[str, ParameterRange] = Field(min_length=1)
    objective: str = Field(
        "mean_distorted_accuracy",
        description="accuracy_clean, mean_distorted_accuracy, "
        "accuracy_<distortion> (mean over its levels), or with evaluation.attack = 'fgsm' "
        "fgsm_score (maximised) or fgsm_success_rate (minimised)",
    )
    constraints: dict[str, Bound] = Field(
        default_factory=dict,
        description="metric (as for objective) -> {min, max}, e.g. accuracy_clean = { min = 0.9 }: trials outside "
        "are infeasible, and the best point is the best feasible one",
    )
    evaluation: StudyEvaluation
    sampler: Literal["nsga2", "tpe", "random"] = "nsga2"
    population_size: int = Field(8, ge=2, description="NSGA-II generation size")
    trials: int = Field(20, ge=1)
    seed: Seed = 0
    storage: str = Field("", description="Optuna storage URL; empty: SQLite search.db in the output folder")
    execution: ExecutionConfig = ExecutionConfig()

    @model_validator(mode="after")
    def _valid(self):
        for name, bounds in self.parameters.items():
            check_parameter(name, self.experiment)
            check_range(name, bounds.low, bounds.high, self.experiment)
        if self.evaluation.split != "validation":
            raise ValueError("evaluation.split must be 'validation': a search must never be scored on the test set")
        allowed = {"accuracy_clean", "mean_distorted_accuracy"} | {f"accuracy_{d}" for d in self.evaluation.distortions}
        if self.evaluation.attack == "fgsm":
            allowed |= {"fgsm_score", "fgsm_success_rate"}
        for role, metric in [("objective", self.objective)] + [("constraint", name) for name in self.constraints]:
            if metric not in allowed:
                hint = "; the fgsm_* metrics need evaluation.attack = 'fgsm'" if metric.startswith("fgsm_") else ""
                raise ValueError(f"{role} '{metric}' is not one of {sorted(allowed)}{hint}")
        return self

    @property
    def direction(self) -> str:
        """Optuna's direction for the objective: every objective is maximised but the attack's success rate."""
        return "minimize" if self.objective in MINIMISED else "maximize"

    def violations(self, metrics: dict) -> dict[str, float]:
        """Every bound's violation (<= 0: met) for a trial's metrics, named as ``Bound.violations`` names them."""
        return {
            k: v
            for name, bound in self.constraints.items()
            for k, v in bound.violations(name, _scalar(metrics, name)).items()
        }

    def fingerprint(self) -> str:
        # Without constraints they are left out, so that searches written before them keep their hash and resume.
        exclude = {"execution", "trials", "storage"} | (set() if self.constraints else {"constraints"})
        content = {
            **self.model_dump(mode="json", exclude=exclude),
            "evaluation": self.evaluation.fingerprint_content(),
        }
        return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:16]


def search_from_dict(values: dict, source: str = "search", base: Path | None = None) -> SearchConfig:
    """Validate a search; ``experiment`` may be a path to an experiment TOML (relative to ``base``) or a table."""
    return config_from_dict(with_experiment_loaded(values, base), source, SearchConfig)


def load_search(path, overrides: dict | None = None) -> SearchConfig:
    """Read and validate a search TOML (``overrides`` as in ``bio_sleep.config.load_config``)."""
    path = Path(path)
    values = read_with_overrides(path, "experiments/study_search_patches.toml", overrides)
    return search_from_dict(values, str(path), path.parent)


# The user attribute that keeps a trial's constraint violations (a column of trials.csv; it decides feasibility).
VIOLATIONS = "constraint_violations"
CODE = "code"  # the user attribute holding the code version that ran a trial


def _sampler(search: SearchConfig):
    import optuna

    if search.sampler == "nsga2":
        return optuna.samplers.NSGAIISampler(population_size=search.population_size, seed=search.seed)
    if search.sampler == "tpe":
        return optuna.samplers.TPESampler(seed=search.seed)
    return optuna.samplers.RandomSampler(seed=search.seed)


def _suggest(trial, search: SearchConfig) -> dict:
    point = {}
    for name, bounds in search.parameters.items():
        field = canonical(name).partition(".")[0]
        if field != "thresholds" and SleepConfig.model_fields[field].annotation is int:
            point[canonical(name)] = trial.suggest_int(name, int(bounds.low), int(bounds.high), log=bounds.log)
        else:
            point[canonical(name)] = trial.suggest_float(name, bounds.low, bounds.high, log=bounds.log)
    return point


def _scalar(metrics: dict, name: str) -> float:
    """A trial's metric as one number: a per-level list (accuracy_<distortion>) is averaged over its levels."""
    value = metrics.get(name, math.nan)
    return sum(value) / len(value) if isinstance(value, list) else value


def _objective(record: dict, objective: str) -> float:
    """The objective's value; NaN fails the trial. An infinite fgsm_score (beyond eta_max) is kept: it is the best."""
    value = _scalar(record["metrics"], objective)
    if math.isnan(value):
        raise ValueError(
            f"objective {objective} is NaN (no distortion levels, or no sample the attack could start from)"
        )
    return value


def _resume_interrupted(study) -> None:
    """Trials left RUNNING by a killed process are closed as FAIL without an ``error`` (so they do not count) and
    their points queued again, so that an interrupted search still ends with every trial it was asked for."""
    import optuna

    for stale in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        study.tell(stale.number, state=optuna.trial.TrialState.FAIL)
        if stale.params:
            study.enqueue_trial(stale.params)


def counted_trials(study) -> int:
    """Trials that used up the budget: complete ones and those that failed on their own (recorded ``error``)."""
    import optuna

    return sum(
        t.state == optuna.trial.TrialState.COMPLETE
        or (t.state == optuna.trial.TrialState.FAIL and "error" in t.user_attrs)
        for t in study.get_trials(deepcopy=False)
    )


def run_search(search: SearchConfig, out_dir, *, progress: bool = True, client=None, stale: str = "refuse"):
    """Run the trials still missing from the storage; write best_config.toml and trials.csv; return the Optuna study.

    ``stale``: what to do with files and trials other code made (``bio_sleep.run_folder.STALE_CHOICES``); the
    trials in the storage can be kept or refused, not recomputed.
    """
    about = {"name": search.name, "search": search.model_dump(mode="json")}
    with RunFolder(out_dir, {"search_hash": search.fingerprint()}, "search", about, stale) as folder:
        study, state = _run_trials(search, folder, progress, client)
        _write_outputs(search, study, folder, _scalar(control_metrics(search, state), search.objective))
    return study


def _run_trials(search: SearchConfig, folder: RunFolder, progress: bool, client):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = search.storage or f"sqlite:///{folder.path('search.db').resolve()}"
    study = optuna.create_study(
        study_name=search.name,
        storage=storage,
        sampler=_sampler(search),
        direction=search.direction,
        load_if_exists=True,
    )
    if study.direction.name.lower() != search.direction:
        raise BioSleepError(
            f"Optuna study '{search.name}' in {storage} was created to {study.direction.name.lower()}, "
            f"but objective {search.objective} needs {search.direction}; give the search another name"
        )
    if folder.stale_choice != "reuse":
        _refuse_trials_of_other_code(study, storage)
    _resume_interrupted(study)
    remaining = search.trials - counted_trials(study)
    experiment_json, evaluation_json = search.experiment.model_dump_json(), search.evaluation.model_dump_json()

    asked = {}

    def tell(number, record):
        asked[number].set_user_attr(CODE, code_version())
        for key in TRIAL_METRICS:
            if key in record.get("metrics", {}):
                asked[number].set_user_attr(key, record["metrics"][key])
        if search.constraints and "metrics" in record:
            violations = search.violations(record["metrics"])
            asked[number].set_user_attr(VIOLATIONS, list(violations.values()))
            for name, value in violations.items():  # what NSGA-II and TPE steer by (Optuna >= 5)
                asked[number].set_constraint(name, value)
        if record["status"] == "ok":
            try:
                study.tell(asked[number], _objective(record, search.objective))
                return
            except ValueError as error:
                record["error"] = str(error)
        asked[number].set_user_attr("error", record.get("error", ""))
        study.tell(asked[number], state=optuna.trial.TrialState.FAIL)

    with contextlib.nullcontext(client) if client is not None else dask_client(search.execution) as active:
        state = control_state(search, folder, progress)
        workers = max(1, len(active.scheduler_info()["workers"]))
        done = search.trials - remaining
        # One bar over every trial of the search, across rounds.
        with tqdm(total=search.trials, initial=done, desc="search trials", unit="trial", disable=not progress) as bar:
            while remaining > 0:
                # One batch per round: as many trials as workers, so that a generation keeps every worker busy.
                asked.clear()
                asked.update((trial.number, trial) for trial in (study.ask() for _ in range(min(workers, remaining))))
                batch = {number: _suggest(trial, search) for number, trial in asked.items()}
                run_points(active, experiment_json, evaluation_json, state, batch, tell, bar)
                remaining -= len(batch)
    return study, state


def _refuse_trials_of_other_code(study, storage: str) -> None:
    import optuna

    finished = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.FAIL)
    other = [t for t in study.get_trials(deepcopy=False, states=finished) if t.user_attrs.get(CODE) != code_version()]
    if other:
        made_by = other[0].user_attrs.get(CODE, UNRECORDED)
        raise BioSleepError(
            f"{len(other)} trial(s) of search '{study.study_name}' in {storage} were run by other bio-sleep code "
            f"(e.g. trial {other[0].number}, by {made_by}; this is {code_version()}); rerun with --stale reuse to "
            f"keep them, or give another --out to start afresh (a search cannot recompute the trials it holds)"
        )


def best_trial(search: SearchConfig, study):
    """The best complete trial that meets the constraints (Optuna's own ``best_trial`` ignores them under the
    random sampler); raises when no trial finished or none is feasible."""
    import optuna

    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if not complete:
        raise BioSleepError(f"no trial of search '{search.name}' finished; see trials.csv for their errors")
    feasible = [t for t in complete if _feasible(t, search)]
    if not feasible:
        raise BioSleepError(
            f"none of the {len(complete)} finished trials of search '{search.name}' meets the constraints "
            f"{_constraint_text(search)}; see trials.csv (user_attrs_*), then loosen the constraints or move "
            "the parameter ranges"
        )
    pick = min if search.direction == "minimize" else max
    return pick(feasible, key=lambda t: t.value)  # the first of equals, as Optuna's best_trial


def _write_outputs(search: SearchConfig, study, folder: RunFolder, control: float) -> None:
    import optuna

    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    folder.write("trials.csv", lambda p: study.trials_dataframe().to_csv(p, index=False))
    if complete:
        folder.write("search_history.png", lambda p: _plot_history(complete, search, control, p))
    best = best_trial(search, study)
    feasible = [t for t in complete if _feasible(t, search)]
    point = {canonical(name): value for name, value in best.params.items()}
    config = apply_point(search.experiment, point)
    header = (
        f"# Best of {len(complete)} trials of search '{search.name}' (trial {best.number}): "
        f"{search.objective} = {best.value:.4f}\n"
        f"# on {search.evaluation.validation_samples} validation samples held out from the training set; "
        f"the control (no sleep): {control:.4f}.\n"
    )
    if search.constraints:
        header += f"# Constraints {_constraint_text(search)}: met by {len(feasible)} of the {len(complete)} trials.\n"
    folder.write_text("best_config.toml", header + config_to_toml(config))


def _feasible(trial, search: SearchConfig) -> bool:
    return not search.constraints or all(v <= 0 for v in trial.user_attrs.get(VIOLATIONS, [math.inf]))


def _constraint_text(search: SearchConfig) -> str:
    return ", ".join(search.violations({}))  # the bounds' names, as the trials record them


def _plot_history(trials, search: SearchConfig, control: float, path) -> None:
    import matplotlib.pyplot as plt
    import numpy as np

    numbers = np.array([t.number for t in trials])
    values = np.array([t.value for t in trials])
    feasible = np.array([_feasible(t, search) for t in trials])
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(numbers[feasible], values[feasible], "o", label="trial")
    if not feasible.all():
        ax.plot(numbers[~feasible], values[~feasible], "x", color="0.6", label=f"outside {_constraint_text(search)}")
    if feasible.any():
        best = np.minimum if search.direction == "minimize" else np.maximum
        ax.plot(numbers[feasible], best.accumulate(values[feasible]), "-", label="best feasible so far")
    if math.isfinite(control):  # an infinite score (beyond eta_max) has no line to draw
        ax.axhline(control, color="k", linestyle=":", label="control (no sleep)")
    ax.set(xlabel="trial", ylabel=search.objective, title="search history (validation split)")
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=150)
    plt.close(fig)
