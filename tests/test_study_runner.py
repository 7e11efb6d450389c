"""Studies on an embedded Dask cluster: cells match direct runs, resume, failures, refusals."""

import json
import time
from pathlib import Path

import numpy as np
import pytest

from bio_sleep.config import default_config, with_overrides
from bio_sleep.errors import BioSleepError
from bio_sleep.execution import dask_client
from bio_sleep.studies import run_study, study_from_dict
from bio_sleep.studies.config import apply_point
from bio_sleep.studies.worker import build_model, load_data, score

EXPERIMENT = with_overrides(
    default_config(),
    {
        "sleep": {"backend": "torch", "steps": 150, "input_mode": "masked_window", "mask_size": 3},
        "data": {"patches_train_copies": 10, "patches_test_copies": 5},
        "training": {"epochs": 2, "batch_size": 10},
    },
)


def _study(**changes):
    values = {
        "name": "test",
        "experiment": EXPERIMENT.model_dump(),
        "grid": {"thresholds.0": [0.3, 1.0], "mask_size": [3, 20]},
        "evaluation": {"distortions": {"gaussian_noise": [0.2, 0.5]}},
        "execution": {"workers": 1},
    }
    values.update(changes)
    return study_from_dict(values)


@pytest.fixture(scope="module")
def client():
    study = _study()
    with dask_client(study.execution) as active:
        yield active


def test_study_cells_failures_resume_and_refusal(client, tmp_path):
    study = _study()
    dataset = run_study(study, tmp_path, progress=False, client=client)
    assert dict(dataset["accuracy_clean"].sizes) == {"thresholds_0": 2, "mask_size": 2}
    assert dict(dataset["accuracy_gaussian_noise"].sizes) == {
        "thresholds_0": 2,
        "mask_size": 2,
        "gaussian_noise_level": 2,
    }
    # mask_size 20 exceeds the 10x10 image: those points fail, are recorded with the reason, the others finish
    assert list(dataset["status"].sel(mask_size=20).values) == ["failed", "failed"]
    assert "exceeds the image side" in str(dataset["error"].sel(thresholds_0=0.3, mask_size=20).values)
    assert np.isnan(dataset["accuracy_clean"].sel(mask_size=20)).all()
    assert list(dataset["status"].sel(mask_size=3).values) == ["ok", "ok"]
    # a cell equals the same point slept and scored in this process
    import torch

    from bio_sleep.sleep import sleep_model

    experiment = apply_point(EXPERIMENT, {"thresholds.0": 1.0, "mask_size": 3})
    state = {k: v.numpy() for k, v in torch.load(tmp_path / "control_model.pt").items()}
    data = load_data(experiment)
    slept = sleep_model(
        build_model(experiment, state),
        data.x_train,
        experiment.sleep,
        seed=experiment.seed,
        image_shape=data.image_shape,
        progress=False,
    ).model
    expected = score(slept, data, study.evaluation)
    cell = dataset.sel(thresholds_0=1.0, mask_size=3)
    assert float(cell["accuracy_clean"]) == expected["accuracy_clean"]
    assert list(cell["accuracy_gaussian_noise"].values) == expected["accuracy_gaussian_noise"]
    assert (tmp_path / "study.nc").exists() and (tmp_path / "heatmap_accuracy_clean.png").exists()

    # resume: a lost file and a corrupt file are recomputed, the other finished points are not touched
    files = sorted((tmp_path / "points").glob("point_*.json"))
    assert len(files) == 4
    files[0].unlink()
    files[2].write_text('{"point": {"thresh')
    untouched = {f: f.stat().st_mtime_ns for f in (files[1], files[3])}
    time.sleep(0.01)
    with pytest.warns(UserWarning, match="corrupt"):
        resumed = run_study(study, tmp_path, progress=False, client=client)
    assert all(f.stat().st_mtime_ns == t for f, t in untouched.items())
    assert files[0].exists() and json.loads(files[2].read_text())["status"] in ("ok", "failed")
    assert (tmp_path / "points" / (files[2].name + ".corrupt")).exists()
    assert resumed["accuracy_clean"].equals(dataset["accuracy_clean"])

    # a different study config is refused, naming how to start fresh
    with pytest.raises(BioSleepError, match="different study.*delete"):
        run_study(_study(grid={"thresholds.0": [0.5]}), tmp_path, progress=False, client=client)


def _fgsm_evaluation(**changes):
    values = {
        "split": "validation",
        "validation_samples": 8,
        "attack": "fgsm",
        "attack_samples": 6,
        "fgsm": {"eta_max": 0.6, "eta_step": 0.02},
    }
    return _study(evaluation={**values, **changes}).evaluation


def _in_grid(score, fgsm):
    """A median of grid etas: finite, in [eta_step, eta_max], a grid point or the midpoint of two."""
    half_steps = 2 * score / fgsm.eta_step
    return (
        np.isfinite(score)
        and fgsm.eta_step - 1e-6 <= score <= fgsm.eta_max + 1e-6
        and abs(half_steps - round(half_steps)) < 1e-4
    )


def test_fgsm_score_uses_the_evaluation_split_only(tmp_path):
    import torch

    from bio_sleep.attacks import run_attack
    from bio_sleep.data import ArrayDataset
    from bio_sleep.run_folder import RunFolder
    from bio_sleep.studies.runner import control_state

    evaluation = _fgsm_evaluation()
    study = _study(evaluation=evaluation.model_dump())
    with RunFolder(tmp_path, {"study_hash": study.fingerprint()}) as folder:
        model = build_model(EXPERIMENT, control_state(study, folder, progress=False))
    data = load_data(EXPERIMENT)
    # test images outside [0, 1]: attacking them would raise, so the validation score proves they were not touched
    poisoned = ArrayDataset("p", data.x_train, data.y_train, data.x_test + 5.0, data.y_test, data.image_shape, 4)
    metrics = score(model, poisoned, evaluation)
    x_val, y_val = data.x_train[-8:][:6], data.y_train[-8:][:6]
    direct = run_attack("fgsm", model, x_val, y_val, n_classes=4, params=evaluation.fgsm, progress=False).attrs
    assert metrics["fgsm_score"] == direct["score"] and metrics["fgsm_success_rate"] == direct["success_rate"]
    assert _in_grid(metrics["fgsm_score"], evaluation.fgsm) and 0.0 <= metrics["fgsm_success_rate"] <= 1.0
    with pytest.raises(BioSleepError, match="outside the clip range"):
        score(model, poisoned, _fgsm_evaluation(split="test"))
    assert torch.equal(poisoned.x_test, data.x_test + 5.0)


def test_study_with_fgsm_score_writes_it_into_the_dataset(client, tmp_path):
    study = _study(grid={"thresholds.0": [0.3, 1.0], "decay": [1.0]}, evaluation=_fgsm_evaluation().model_dump())
    dataset = run_study(study, tmp_path, progress=False, client=client)
    assert list(dataset["status"].values.ravel()) == ["ok", "ok"]
    for variable in ("fgsm_score", "fgsm_success_rate"):
        assert dataset[variable].dims == ("thresholds_0", "decay")
    assert all(_in_grid(value, study.evaluation.fgsm) for value in dataset["fgsm_score"].values.ravel())
    assert _in_grid(dataset.attrs["control_fgsm_score"], study.evaluation.fgsm)
    assert (tmp_path / "heatmap_fgsm_score.png").exists()
    # without an attack the hash is what it was before attacks existed: older results folders still resume
    assert not {"attack", "attack_samples", "fgsm"} & set(_study().evaluation.fingerprint_content())


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"grid": {"threshold": [1.0]}}, "'threshold' is not a sweepable sleep parameter"),
        ({"grid": {"thresholds.3": [1.0]}}, "thresholds.<0..0>"),
        ({"grid": {}}, "non-empty \\[grid\\]"),
        ({"grid": {"decay": []}}, "have no values"),
        ({"grid": {"decay": [0.9, 1.5]}}, "decay must lie in"),
        ({"evaluation": {"distortions": {"fog": [1.0]}}}, "unknown distortion"),
        ({"evaluation": {"split": "validation"}}, "validation_samples"),
        ({"evaluation": {"attack": "deepfool"}}, "unknown attack 'deepfool'.*\\['fgsm'\\]"),
        ({"evaluation": {"attack": "fgsm", "attack_samples": 0}}, "attack_samples"),
    ],
)
def test_bad_studies_are_rejected_up_front(changes, message):
    with pytest.raises(BioSleepError, match=message):
        _study(**changes)


def test_unanswering_scheduler_fails_within_seconds(tmp_path):
    study = _study(execution={"scheduler": "tcp://127.0.0.1:9", "connect_timeout": 1.0})
    start = time.perf_counter()
    with pytest.raises(BioSleepError, match="no Dask scheduler answered at tcp://127.0.0.1:9"):
        run_study(study, tmp_path, progress=False)
    assert time.perf_counter() - start < 10


def test_cli_study_reads_the_toml_and_names_an_unreachable_scheduler(tmp_path):
    import argparse

    from bio_sleep.studies import cli

    (tmp_path / "study.toml").write_text('name = "cli"\n[experiment]\nname = "patches"\n[grid]\ndecay = [0.99]\n')
    parser = argparse.ArgumentParser()
    cli.add_parser(parser.add_subparsers())
    args = parser.parse_args(
        ["study", str(tmp_path / "study.toml"), "--out", str(tmp_path / "out"), "--scheduler", "tcp://127.0.0.1:9"]
    )
    with pytest.raises(BioSleepError, match="no Dask scheduler answered"):
        args.handler(args)
    from bio_sleep.studies import load_study

    for name in ("study_patches_inc_threshold.toml", "study_search_patches.toml"):
        assert (Path(__file__).parents[1] / "experiments" / name).exists()
    assert (
        len(load_study(Path(__file__).parents[1] / "experiments/study_patches_inc_threshold.toml").point_list()) == 16
    )


def test_plots_over_any_two_parameters_average_the_rest(tmp_path):
    import xarray as xr

    from bio_sleep.studies.plots import plot_heatmap, plot_lines

    values = np.arange(24.0).reshape(2, 3, 4)
    dataset = xr.Dataset(
        {"accuracy_clean": (("decay", "inc", "dec"), values)},
        coords={"decay": [0.9, 1.0], "inc": [1, 2, 3], "dec": [1, 2, 3, 4]},
    )
    plot_heatmap(dataset, "accuracy_clean", "dec", "decay", tmp_path / "h.png")
    plot_lines(dataset, "accuracy_clean", "inc", "decay", tmp_path / "l.png")
    assert (tmp_path / "h.png").stat().st_size > 0 and (tmp_path / "l.png").stat().st_size > 0
    with pytest.raises(BioSleepError, match="no variable 'loss'"):
        plot_heatmap(dataset, "loss", "dec", "decay", tmp_path / "x.png")
    with pytest.raises(BioSleepError, match="no dimension \\['alpha'\\]"):
        plot_lines(dataset, "accuracy_clean", "alpha", None, tmp_path / "x.png")


def test_study_names_its_best_point_per_accuracy():
    import xarray as xr

    from bio_sleep.studies.cli import best_points

    grid = xr.Dataset(
        {
            "accuracy_clean": (("decay", "inc"), [[0.90, 0.97], [0.95, np.nan]]),
            "accuracy_gaussian_noise": (
                ("decay", "inc", "gaussian_noise_level"),
                [[[0.2, 0.4], [0.1, 0.1]], [[0.6, 0.8], [np.nan, np.nan]]],
            ),
        },
        coords={"decay": [0.99, 1.0], "inc": [0.01, 0.02], "gaussian_noise_level": [0.1, 0.3]},
        attrs={"control_accuracy_clean": 0.93},
    )
    assert best_points(grid) == [
        "best accuracy_clean: 0.9700 (control 0.9300) at decay 0.99, inc 0.02",
        "best accuracy_gaussian_noise: 0.7000 at decay 1, inc 0.01",
    ]


def test_one_layers_target_rate_leaves_the_other_layers_at_their_thresholds(tmp_path):
    from bio_sleep.studies.config import apply_point, load_experiment

    experiment = load_experiment(Path(__file__).parents[1] / "experiments/mnist_iclr_generalisation.toml")
    assert experiment.sleep.target_rates is None
    assert apply_point(experiment, {"target_rates.1": 2e-5}).sleep.target_rates == [0.0, 2e-5, 0.0]
    # a robustness config serves as the experiment: its networks and sleep, without the study's sections
    robustness = load_experiment(Path(__file__).parents[1] / "experiments/robustness_patches.toml")
    assert type(robustness).__name__ == "ExperimentConfig" and robustness.model.init == "deeplearntoolbox"
