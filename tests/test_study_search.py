"""Optuna search through the Dask execution: validation split only, resumable, best config runnable."""

import re

import pytest

from bio_sleep.config import default_config, load_config, with_overrides
from bio_sleep.errors import BioSleepError
from bio_sleep.execution import dask_client
from bio_sleep.studies.search import run_search, search_from_dict

EXPERIMENT = with_overrides(
    default_config(),
    {
        "sleep": {"backend": "torch", "steps": 100},
        "data": {"patches_train_copies": 10, "patches_test_copies": 2},
        "training": {"epochs": 2, "batch_size": 10},
    },
)


def _search(**changes):
    values = {
        "name": "s",
        "experiment": EXPERIMENT.model_dump(),
        "trials": 4,
        "sampler": "nsga2",
        "population_size": 2,
        "parameters": {"thresholds.0": {"low": 0.2, "high": 2.0}, "decay": {"low": 0.9, "high": 1.0}},
        "evaluation": {"split": "validation", "validation_samples": 8, "distortions": {"gaussian_noise": [0.3]}},
        "execution": {"workers": 1},
    }
    values.update(changes)
    return search_from_dict(values)


def test_search_runs_resumes_and_writes_a_runnable_best_config(tmp_path, monkeypatch):
    search = _search()
    with dask_client(search.execution) as client:
        study = run_search(search, tmp_path, progress=False, client=client)
        assert len(study.trials) == 4
        best = load_config(tmp_path / "best_config.toml")
        assert best.sleep.thresholds[0] == pytest.approx(study.best_trial.params["thresholds.0"])
        assert best.sleep.decay == pytest.approx(study.best_trial.params["decay"])
        assert 0.0 <= study.best_value <= 1.0
        first_params = [t.params for t in study.trials]
        first_code = study.trials[0].user_attrs["code"]
        # edited code: its files and trials are refused, then kept on request
        for module in ("bio_sleep.run_folder", "bio_sleep.studies.search"):
            monkeypatch.setattr(f"{module}.code_version", lambda: "0.1.0+edited")
        with pytest.raises(BioSleepError, match=r"file\(s\) made by other bio-sleep code"):
            run_search(search, tmp_path, progress=False, client=client)
        with pytest.raises(
            BioSleepError, match=rf"4 trial\(s\) of search 's' .* by {re.escape(first_code)}.*--stale reuse"
        ):
            run_search(search, tmp_path, progress=False, client=client, stale="recompute")
        # more trials on the same storage: the first four are kept, two more are run
        resumed = run_search(_search(trials=6), tmp_path, progress=False, client=client, stale="reuse")
        assert len(resumed.trials) == 6
        assert [t.params for t in resumed.trials[:4]] == first_params
        assert [t.user_attrs["code"] for t in resumed.trials] == [first_code] * 4 + ["0.1.0+edited"] * 2
    assert (tmp_path / "trials.csv").exists() and (tmp_path / "search_history.png").exists()


def test_trials_interrupted_by_a_kill_are_run_again_not_counted(tmp_path):
    import optuna

    search = _search(trials=2)
    with dask_client(search.execution) as client:
        run_search(search, tmp_path, progress=False, client=client)
        # a kill while a trial runs leaves it RUNNING in the storage, its point suggested but never scored
        storage = optuna.load_study(study_name="s", storage=f"sqlite:///{tmp_path / 'search.db'}")
        killed = storage.ask()
        killed_point = {
            "thresholds.0": killed.suggest_float("thresholds.0", 0.2, 2.0),
            "decay": killed.suggest_float("decay", 0.9, 1.0),
        }
        resumed = run_search(_search(trials=3), tmp_path, progress=False, client=client)
    states = [t.state for t in resumed.trials]
    assert states.count(optuna.trial.TrialState.COMPLETE) == 3  # the budget of 3 complete trials is met
    assert (
        states[killed.number] == optuna.trial.TrialState.FAIL
        and "error" not in resumed.trials[killed.number].user_attrs
    )
    rerun = resumed.trials[killed.number + 1]
    assert rerun.state == optuna.trial.TrialState.COMPLETE and rerun.params == killed_point  # the same point, re-run


FGSM_EVALUATION = {
    "split": "validation",
    "validation_samples": 8,
    "attack": "fgsm",
    "attack_samples": 5,
    "fgsm": {"eta_max": 0.6, "eta_step": 0.02},
}


def test_search_maximises_the_fgsm_score_and_keeps_its_direction(tmp_path):
    import csv

    storage = f"sqlite:///{tmp_path / 'shared.db'}"
    search = _search(objective="fgsm_score", evaluation=FGSM_EVALUATION, trials=2, sampler="random", storage=storage)
    assert search.direction == "maximize" and _search().direction == "maximize"
    with dask_client(search.execution) as client:
        study = run_search(search, tmp_path / "score", progress=False, client=client)
        assert study.direction.name == "MAXIMIZE"
        assert 0.02 <= study.best_value <= 0.6
        rows = list(csv.DictReader((tmp_path / "score" / "trials.csv").open()))
        assert {"user_attrs_accuracy_clean", "user_attrs_fgsm_success_rate"} <= set(rows[0])
        assert "fgsm_score = " in (tmp_path / "score" / "best_config.toml").read_text()
        # the success rate is minimised; the same Optuna study, made to maximise, is refused for it
        rate = _search(objective="fgsm_success_rate", evaluation=FGSM_EVALUATION, trials=2, storage=storage)
        assert rate.direction == "minimize"
        with pytest.raises(BioSleepError, match="created to maximize.*needs minimize"):
            run_search(rate, tmp_path / "rate", progress=False, client=client)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"evaluation": {"split": "test", "distortions": {}}}, "never be scored on the test set"),
        ({"parameters": {"speed": {"low": 0, "high": 1}}}, "not a sweepable sleep parameter"),
        ({"parameters": {"decay": {"low": 1, "high": 0.5}}}, "must be below high"),
        ({"parameters": {}}, "parameters"),
        ({"objective": "accuracy_blur"}, "objective 'accuracy_blur'"),
        ({"objective": "fgsm_score"}, "need evaluation.attack = 'fgsm'"),
        ({"evaluation": {**FGSM_EVALUATION, "attack": "pgd"}}, "unknown attack 'pgd'"),
        ({"constraints": {"accuracy_blur": {"min": 0.9}}}, "constraint 'accuracy_blur' is not one of"),
        ({"constraints": {"accuracy_clean": {}}}, "a constraint needs min, max or both"),
        ({"constraints": {"accuracy_clean": {"min": 0.9, "max": 0.5}}}, r"min \(0.9\) must be below max"),
    ],
)
def test_bad_searches_are_rejected(changes, message):
    with pytest.raises(BioSleepError, match=message):
        _search(**changes)


def test_one_bar_over_every_trial_and_the_dashboard_address(tmp_path, capsys):
    import importlib.util

    search = _search(trials=3)  # one worker: three rounds of one trial each
    with dask_client(search.execution) as client:
        run_search(search, tmp_path, progress=True, client=client)
    printed = capsys.readouterr()
    with_bokeh = importlib.util.find_spec("bokeh") is not None
    assert ("Dask dashboard: http://" if with_bokeh else "it needs bokeh") in printed.out
    assert printed.err.count("search trials:   0%") == 1 and "3/3 [" in printed.err


def test_the_best_point_is_the_best_feasible_one():
    import optuna

    from bio_sleep.studies.search import VIOLATIONS, best_trial

    search = _search(constraints={"accuracy_clean": {"min": 0.9}})
    study = optuna.create_study(direction="maximize")
    distribution = optuna.distributions.FloatDistribution(0.2, 2.0)
    # the highest objective value breaks the constraint (clean accuracy 0.5 < 0.9); the next one meets it
    for value, clean in [(0.9, 0.5), (0.7, 0.95), (0.6, 1.0)]:
        study.add_trial(
            optuna.trial.create_trial(
                params={"thresholds.0": value},
                distributions={"thresholds.0": distribution},
                value=value,
                user_attrs={VIOLATIONS: list(search.violations({"accuracy_clean": clean}).values())},
            )
        )
    assert search.violations({"accuracy_clean": 0.5}) == {"accuracy_clean >= 0.9": pytest.approx(0.4)}
    assert best_trial(search, study).value == 0.7
    assert best_trial(_search(), study).value == 0.9  # without constraints every trial is feasible


def test_a_constrained_search_steers_its_sampler_and_refuses_when_nothing_is_feasible(tmp_path):
    search = _search(trials=2, sampler="tpe", constraints={"accuracy_gaussian_noise": {"max": -1.0}})
    with dask_client(search.execution) as client:
        with pytest.raises(BioSleepError, match=r"none of the 2 finished trials.*accuracy_gaussian_noise <= -1"):
            run_search(search, tmp_path, progress=False, client=client)
    import optuna

    trials = optuna.load_study(study_name="s", storage=f"sqlite:///{tmp_path / 'search.db'}").trials
    # each trial carries its violation as an Optuna constraint, which NSGA-II and TPE steer by
    assert all(t.constraints["accuracy_gaussian_noise <= -1"] > 0 for t in trials)
    assert (tmp_path / "trials.csv").exists() and not (tmp_path / "best_config.toml").exists()
