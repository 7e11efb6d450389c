"""Rate calibration: thresholds found for target firing rates (bio_sleep.sleep.calibration)."""

import numpy as np
import pytest
import torch

from bio_sleep.config import SleepConfig, config_from_dict
from bio_sleep.errors import BioSleepError
from bio_sleep.models import build_fc
from bio_sleep.sleep import sleep_model


def small_model():
    torch.manual_seed(0)
    return build_fc([30, 40, 30, 8], output="relu", init="uniform", init_range=0.3)


def inputs():
    return torch.rand(200, 30, generator=torch.Generator().manual_seed(1))


def sleep_config(**values):
    base = dict(
        backend="torch",
        steps=600,
        thresholds=[1.0, 1.0, 1.0],
        max_rate=200.0,
        alpha_scale=2.0,
        decay=0.99,
        inc=0.001,
        dec=0.0005,
        normalisation_samples=200,
    )
    return SleepConfig(**{**base, **values})


def test_calibration_reaches_its_targets_during_the_plastic_sleep():
    targets = [0.05, 0.03, 0.08]
    result = sleep_model(small_model(), inputs(), sleep_config(target_rates=targets))
    calibration = result.calibration
    # The search ran in float32, the sleep in float64: the rates of the sleep itself must hit the targets.
    fractions = result.recording.firing_fraction()[1:]
    np.testing.assert_allclose(calibration.achieved_rates, fractions)
    np.testing.assert_allclose(fractions, targets, rtol=0.2)
    np.testing.assert_allclose(calibration.search_rates, targets, rtol=0.1)
    assert result.after.thresholds == calibration.thresholds
    assert [row["layer"] for row in calibration.report(result.before)] == ["hidden_1", "hidden_2", "output"]


def test_a_zero_target_keeps_the_configured_threshold():
    result = sleep_model(
        small_model(), inputs(), sleep_config(thresholds=[1.0, 0.7, 1.0], target_rates=[0.05, 0.0, 0.05])
    )
    assert result.calibration.thresholds[1] == 0.7
    assert result.calibration.report(result.before)[1]["achieved_over_target"] is None
    np.testing.assert_allclose(result.recording.firing_fraction()[[1, 3]], 0.05, rtol=0.2)


def test_one_target_applies_to_every_layer():
    result = sleep_model(small_model(), inputs(), sleep_config(target_rates=[0.05]))
    assert result.calibration.targets == (0.05, 0.05, 0.05)
    np.testing.assert_allclose(result.recording.firing_fraction()[1:], 0.05, rtol=0.2)


def test_calibration_steps_calibrate_on_the_start_of_the_sleep():
    result = sleep_model(small_model(), inputs(), sleep_config(target_rates=[0.05], calibration_steps=200))
    np.testing.assert_allclose(result.calibration.search_rates, 0.05, rtol=0.1)
    recording = result.recording
    start_rates = recording.spikes_per_step[1:, :200].mean(axis=1) / np.asarray(recording.layer_sizes[1:])
    np.testing.assert_allclose(start_rates, result.calibration.search_rates, rtol=0.1)  # float32 search, float64 sleep


def test_recorded_thresholds_reproduce_the_sleep():
    model, x = small_model(), inputs()
    calibrated = sleep_model(model, x, sleep_config(target_rates=[0.05, 0.03, 0.08]))
    rerun = sleep_model(model, x, sleep_config(thresholds=list(calibrated.calibration.thresholds)))
    np.testing.assert_array_equal(rerun.recording.spikes_per_step, calibrated.recording.spikes_per_step)
    for before, after in zip(calibrated.after.weights, rerun.after.weights):
        np.testing.assert_array_equal(before, after)


def test_a_layer_no_input_can_drive_is_a_clear_error():
    model = small_model()
    with torch.no_grad():
        model[2].weight.copy_(-model[2].weight.abs())  # hidden_2 only ever receives inhibition
        model[2].weight[0] = model[2].weight[0].abs()  # but one neuron: 1 of 30 firing every step is below 0.05
    with pytest.raises(BioSleepError, match="hidden_2 cannot reach 0.05 spikes per neuron per step"):
        sleep_model(model, inputs(), sleep_config(target_rates=[0.05]))


def test_a_target_too_small_to_measure_is_refused_before_searching():
    with pytest.raises(BioSleepError, match="too few to measure"):
        sleep_model(small_model(), inputs(), sleep_config(target_rates=[0.05, 0.05, 1e-4]))


@pytest.mark.parametrize(
    "rates, message",
    [
        ([0.01, 0.02], "one per threshold"),
        ([1.5], r"lie in \[0, 1\)"),
        ([0.0], "one must be > 0"),
        ([-0.1], r"lie in \[0, 1\)"),
    ],
)
def test_bad_target_rates_are_refused_by_the_config(rates, message):
    with pytest.raises(BioSleepError, match=message):
        config_from_dict({"thresholds": [1.0, 1.0, 1.0], "target_rates": rates}, kind=SleepConfig)


def test_a_calibrated_run_records_its_thresholds_and_its_config_reproduces_it(tmp_path):
    import json

    import xarray as xr

    from bio_sleep.config import default_config, load_config, with_overrides
    from bio_sleep.pipeline import run_experiment

    config = with_overrides(
        default_config(),
        {
            "output_dir": str(tmp_path),
            "data": {"patches_train_copies": 20, "patches_test_copies": 5},
            "sleep": {"backend": "torch", "steps": 400, "target_rates": [0.05]},
            "evaluation": {"noise_levels": [0.0, 0.5], "blur_sigmas": []},
        },
    )
    logged = []
    first = run_experiment(config, progress=False, log=logged.append)
    summary = json.loads((first.folder / "summary.json").read_text())
    [row] = summary["calibration"]
    assert row["target_rate"] == 0.05 and row["achieved_rate"] == pytest.approx(0.05, rel=0.2)
    assert any(line.startswith("rate calibration:") and "output" in line for line in logged)
    recorded = load_config(first.folder / "config.toml")
    assert recorded.sleep.thresholds == [row["threshold"]] and recorded.sleep.target_rates is None
    again = run_experiment(recorded, progress=False, log=lambda *_: None)
    xr.testing.assert_equal(xr.load_dataset(first.folder / "weights.nc"), xr.load_dataset(again.folder / "weights.nc"))


def test_studies_sweep_target_rates(tmp_path):
    from bio_sleep.config import default_config, with_overrides
    from bio_sleep.studies import run_study, study_from_dict
    from bio_sleep.studies.config import apply_point

    experiment = with_overrides(
        default_config(),
        {
            "sleep": {"backend": "torch", "steps": 300},
            "data": {"patches_train_copies": 10, "patches_test_copies": 5},
            "training": {"epochs": 2, "batch_size": 10},
        },
    )
    assert apply_point(experiment, {"sleep.target_rates": 0.02}).sleep.target_rates == [0.02]
    # one layer's rate needs no target rates in the experiment (the other layers keep their thresholds) ...
    assert apply_point(experiment, {"target_rates.0": 0.02}).sleep.target_rates == [0.02]
    # ... but it must name a layer the network has
    with pytest.raises(BioSleepError, match=r"name a layer's value as target_rates.<0..0>"):
        study_from_dict({"experiment": experiment.model_dump(), "grid": {"target_rates.1": [0.02]}})
    study = study_from_dict(
        {
            "name": "rates",
            "experiment": experiment.model_dump(),
            "grid": {"target_rates": [0.03, 0.1]},
            "evaluation": {"distortions": {}},
        }
    )
    dataset = run_study(study, tmp_path, progress=False)
    assert list(dataset["status"].values) == ["ok", "ok"]
    np.testing.assert_allclose(dataset["firing_fraction"].sel(layer="output").values, [0.03, 0.1], rtol=0.2)
