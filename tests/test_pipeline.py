"""The main job end to end, through the library and the command line."""

import json
import tomllib

import pytest
import xarray as xr

from bio_sleep.cli import main
from bio_sleep.config import default_config, with_overrides
from bio_sleep.errors import BioSleepError
from bio_sleep.pipeline import run_experiment


def small_patches(tmp_path, **sleep):
    return with_overrides(
        default_config(),
        {
            "output_dir": str(tmp_path),
            "data": {"patches_train_copies": 100, "patches_test_copies": 20},
            "sleep": {"backend": "torch", "steps": 500, **sleep},
            "evaluation": {"noise_levels": [0.0, 0.5], "blur_sigmas": [0.0, 1.0]},
        },
    )


def test_patches_run_writes_every_result(tmp_path):
    outcome = run_experiment(small_patches(tmp_path), progress=False, log=lambda *_: None)
    files = {path.name for path in outcome.folder.iterdir()}
    assert {
        "config.toml",
        "control.pt",
        "slept.pt",
        "sleep_recording.nc",
        "weights.nc",
        "results.nc",
        "accuracy.png",
        "summary.json",
    } <= files
    results = xr.load_dataset(outcome.folder / "results.nc")
    assert list(results.network.values) == ["control", "sleep"]
    assert tomllib.loads((outcome.folder / "config.toml").read_text())["sleep"]["steps"] == 500
    summary = json.loads((outcome.folder / "summary.json").read_text())
    assert summary["accuracy_clean"]["control"] == pytest.approx(1.0)
    assert summary["sleep_layers"][1]["spikes"] > 0
    # every file was written atomically and is listed complete, with its size and checksum
    listed = json.loads((outcome.folder / "manifest.json").read_text())["files"]
    assert set(listed) == files - {"manifest.json", ".lock"}
    assert all(entry["bytes"] == (outcome.folder / name).stat().st_size for name, entry in listed.items())


def test_an_output_dir_that_is_a_file_is_refused_before_training(tmp_path, monkeypatch):
    import bio_sleep.pipeline

    monkeypatch.setattr(bio_sleep.pipeline, "train_control", lambda *a: pytest.fail("trained"))
    (tmp_path / "runs").write_text("")
    with pytest.raises(BioSleepError, match="cannot use .*runs.* as an output folder"):
        run_experiment(small_patches(tmp_path / "runs"), progress=False, log=lambda *_: None)


def test_same_seed_same_results(tmp_path):
    first = run_experiment(small_patches(tmp_path), progress=False, log=lambda *_: None)
    second = run_experiment(small_patches(tmp_path), progress=False, log=lambda *_: None)
    assert first.folder != second.folder
    xr.testing.assert_equal(xr.load_dataset(first.folder / "results.nc"), xr.load_dataset(second.folder / "results.nc"))


def test_model_must_fit_the_data(tmp_path):
    config = with_overrides(small_patches(tmp_path), {"model": {"widths": [784, 10]}})
    with pytest.raises(BioSleepError, match="set model.widths = \\[100"):
        run_experiment(config, progress=False)
    assert not list(tmp_path.iterdir()), "no run folder may look like a result"


def test_cli_runs_a_config_file(tmp_path, capsys):
    from bio_sleep.config import config_to_toml

    path = tmp_path / "small.toml"
    path.write_text(config_to_toml(small_patches(tmp_path / "runs")))
    assert main(["run", str(path), "--quiet", "--seed", "3"]) == 0
    output = capsys.readouterr().out
    assert "clean accuracy: control" in output and "results, plot, models and config in" in output


@pytest.mark.parametrize(
    "text, message",
    [
        ("[sleep]\ndecay = 2.0\n", "decay must lie in (0, 1]"),
        ("[sleep]\nthreshold = [1.0]\n", "unknown key 'sleep.threshold'"),
    ],
)
def test_cli_reports_bad_config_without_traceback(tmp_path, capsys, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    assert main(["run", str(path)]) == 2
    error = capsys.readouterr().err
    assert message in error and "Traceback" not in error


def test_cli_help_lists_options(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    output = capsys.readouterr().out
    for option in ["--data-root", "--out", "--set", "--seed", "--backend", "--quiet"]:
        assert option in output
