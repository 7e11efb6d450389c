"""Every bad input of issue 10 §3 is one line `bio-sleep: error: ...` naming the problem and the fix, exit 2,
and leaves no output folder that looks like a result. The CLI runs in-process on small temporary configs;
all but the sleep case fail during validation, before any training."""

import tomllib
from pathlib import Path

import numpy as np
import pytest
import tomli_w
import torch

from bio_sleep.cli import main

EXPERIMENTS = Path(__file__).parents[1] / "experiments"
RESULT_FILES = ("summary.json", "results.nc", "study.nc", "best_config.toml", "table.md", "results.md")


def _fails(argv, message, out: Path, capsys):
    """``bio-sleep argv`` exits 2 with one error line holding ``message``, and ``out`` holds no result."""
    assert main([str(a) for a in argv]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("bio-sleep: error: ") and "Traceback" not in error
    assert len(error.splitlines()) == 1, error
    assert message in error, error
    results = [p for name in RESULT_FILES for p in out.rglob(name)] if out.exists() else []
    assert not results, results


def _toml(tmp_path, values: dict, name="config.toml") -> Path:
    path = tmp_path / name
    path.write_text(tomli_w.dumps(values))
    return path


# --- a run config: one bad value each (the Patches default otherwise) -----------------------------------------

RUN_CASES = {
    "init_range_inf": ({"model": {"init_range": float("inf")}}, "model.init_range: Input should be a finite number"),
    "torch_device_banana": ({"sleep": {"torch_device": "banana"}}, "'banana' is not a torch device; use 'auto', 'cpu'"),
    "torch_device_missing_gpu": ({"sleep": {"torch_device": "cuda:64"}}, "CUDA device(s); use 'auto' or 'cpu'"),
    "training_device_missing_gpu": ({"training": {"device": "cuda:64"}}, "training.device: 'cuda:64' but this machine"),
    "steps_float_huge": ({"sleep": {"steps": 1e11}}, "sleep.steps: Input should be a valid integer"),
    "steps_int_huge": ({"sleep": {"steps": 10**11}}, "sleep.steps: Input should be less than or equal to 10000000"),
    "steps_bool": ({"sleep": {"steps": True}}, "true/false are not numbers"),
    "epochs_bool": ({"training": {"epochs": True}}, "training.epochs: Input should be a valid integer (got True)"),
    "seed_negative": ({"seed": -1}, "seed: Input should be greater than or equal to 0"),
    "seed_float_huge": ({"seed": 1e20}, "seed: Input should be a valid integer"),
    "seed_too_large": ({"seed": 2**40}, "seed: Input should be less than or equal to 4294967295"),
    "noise_level_nan": (
        {"evaluation": {"noise_levels": [0.0, float("nan")]}},
        "evaluation.noise_levels.1: Input should be a finite number (got nan); NaN and infinity are not allowed",
    ),
    "blur_sigma_inf": (
        {"evaluation": {"blur_sigmas": [float("inf")]}},
        "evaluation.blur_sigmas.0: Input should be a finite number",
    ),
    "noise_level_repeated": (
        {"evaluation": {"noise_levels": [0.1, 0.3, 0.1]}},
        "the values [0.1] appear more than once",
    ),
    "alpha_scale_inf": ({"sleep": {"alpha_scale": float("inf")}}, "sleep.alpha_scale: Input should be a finite number"),
    "threshold_nan": ({"sleep": {"thresholds": [float("nan")]}}, "sleep.thresholds.0: Input should be a finite number"),
    "threshold_inf": ({"sleep": {"thresholds": [float("inf")]}}, "sleep.thresholds.0: Input should be a finite number"),
    "decay_nan": ({"sleep": {"decay": float("nan")}}, "sleep.decay: Input should be a finite number"),
    "learning_rate_nan": (
        {"training": {"learning_rate": float("nan")}},
        "training.learning_rate: Input should be a finite",
    ),
    "max_rate_text": ({"sleep": {"max_rate": "fast"}}, "sleep.max_rate: Input should be a valid number"),
    "train_samples_fraction": ({"data": {"train_samples": 1.5}}, "data.train_samples: Input should be a valid integer"),
    "record_trains_int": (
        {"sleep": {"record_spike_trains": 1}},
        "sleep.record_spike_trains: Input should be a valid boolean (got 1); write true or false",
    ),
    "name_parent": ({"name": "../x"}, "'../x' is not a plain folder name"),
    "name_nested": ({"name": "a/b"}, "'a/b' is not a plain folder name"),
}


@pytest.mark.parametrize("values, message", RUN_CASES.values(), ids=RUN_CASES.keys())
def test_bad_run_config(tmp_path, capsys, values, message):
    if "cuda" in str(values) and torch.cuda.device_count() > 64:
        pytest.skip("this machine has the CUDA device")
    _fails(
        ["run", _toml(tmp_path, {"output_dir": str(tmp_path / "runs"), **values}), "--quiet"],
        message,
        tmp_path / "runs",
        capsys,
    )


@pytest.mark.parametrize("text", ["", "# only a comment\n\n"], ids=["empty", "comment_only"])
def test_empty_config_is_refused_and_names_a_start(tmp_path, capsys, text):
    path = tmp_path / "empty.toml"
    path.write_text(text)
    _fails(["run", path], "holds no settings; a minimal config", tmp_path, capsys)
    _fails(["config", path], "`bio-sleep config > my.toml`", tmp_path, capsys)


SET_CASES = {
    "not_key_value": (["--set", "sleep.steps"], "--set sleep.steps: expected KEY=VALUE"),
    "unknown_key": (["--set", "sleep.stepz=3"], "unknown key 'sleep.stepz'"),
    "zero_steps": (["--set", "sleep.steps=0"], "sleep.steps: Input should be greater than or equal to 1"),
    "bool_epochs": (["--set", "training.epochs=false"], "training.epochs: Input should be a valid integer"),
    "seed_option_negative": (["--seed", "-1"], "seed: Input should be greater than or equal to 0"),
    "name_option": (["--set", "name=../../etc"], "is not a plain folder name"),
}


@pytest.mark.parametrize("options, message", SET_CASES.values(), ids=SET_CASES.keys())
def test_bad_command_line_override(tmp_path, capsys, options, message):
    _fails(["run", "--out", tmp_path / "runs", "--quiet", *options], message, tmp_path / "runs", capsys)


# --- a CNN (SRC) config: the layers pass the model's validation, never crash in training ------------------------


def _src_config(tmp_path, layer: dict | None = None, **model) -> Path:
    values = tomllib.loads((EXPERIMENTS / "src_mnist_figure2.toml").read_text())
    values["output_dir"] = str(tmp_path / "runs")
    if layer is not None:
        values["model"]["layers"][0] = layer
    values["model"].update(model)
    return _toml(tmp_path, values, "src.toml")


SRC_CASES = {
    "kernel_size_0": (
        {"type": "conv", "out_channels": 10, "kernel_size": 0},
        {},
        "kernel_size = 0 must be a whole number",
    ),
    "out_channels_0": ({"type": "conv", "out_channels": 0, "kernel_size": 3}, {}, "out_channels = 0 must be a whole"),
    "kernel_size_pair": ({"type": "conv", "out_channels": 10, "kernel_size": [3, 3]}, {}, "not [3, 3]"),
    "out_channels_bool": ({"type": "conv", "out_channels": True, "kernel_size": 3}, {}, "out_channels = True must be"),
    "input_shape_rank": (None, {"input_shape": [1, 28]}, "model.input_shape: List should have at least 3 items"),
    "input_shape_zero": (None, {"input_shape": [0, 28, 28]}, "must hold (channels, height, width), each >= 1"),
}


@pytest.mark.parametrize("layer, model, message", SRC_CASES.values(), ids=SRC_CASES.keys())
def test_bad_cnn_config(tmp_path, capsys, layer, model, message):
    _fails(["src", _src_config(tmp_path, layer, **model), "--quiet"], message, tmp_path / "runs", capsys)


# --- a .npz dataset that is not one -----------------------------------------------------------------------------

GOOD_ARRAYS = {"x_train": np.ones((4, 3)), "y_train": np.arange(4), "x_test": np.ones((2, 3)), "y_test": np.arange(2)}


def _write_npz(path: Path, kind: str) -> None:
    if kind == "object_dtype":
        np.savez(path, **{**GOOD_ARRAYS, "x_train": np.array([{}, {}, {}, {}], dtype=object)})
    elif kind == "str_dtype":
        np.savez(path, **{**GOOD_ARRAYS, "x_train": np.array([["1", "2", "3"]] * 4)})
    elif kind == "not_a_zip":
        path.write_text("x_train,y_train\n1,2\n")
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "truncated":
        np.savez(path.with_suffix(".full.npz"), **GOOD_ARRAYS)
        path.write_bytes(path.with_suffix(".full.npz").read_bytes()[:300])
    elif kind == "npy":
        with path.open("wb") as file:
            np.save(file, np.ones((4, 3)))
    elif kind == "image_shape_rank":
        np.savez(path, **GOOD_ARRAYS, image_shape=np.array([3]))


NPZ_CASES = {
    "object_dtype": "holds object arrays (pickled Python objects)",
    "str_dtype": "x_train has dtype <U1",
    "not_a_zip": "is not a .npz archive, or is truncated",
    "empty": "is not a .npz archive, or is truncated (EOFError)",
    "truncated": "is not a .npz archive, or is truncated (BadZipFile)",
    "npy": "holds a single array (a .npy file)",
    "image_shape_rank": "image_shape (3,) must be (height, width) or (channels, height, width)",
}


@pytest.mark.parametrize("kind, message", NPZ_CASES.items(), ids=NPZ_CASES.keys())
def test_bad_npz(tmp_path, capsys, kind, message):
    _write_npz(tmp_path / "data.npz", kind)
    config = _toml(
        tmp_path,
        {
            "output_dir": str(tmp_path / "runs"),
            "data": {"dataset": "npz", "path": str(tmp_path / "data.npz")},
            "model": {"widths": [3, 4]},
            "evaluation": {"blur_sigmas": []},
        },
    )
    _fails(["run", config, "--quiet"], message, tmp_path / "runs", capsys)


# --- studies and searches --------------------------------------------------------------------------------------

STUDY = {"name": "bad", "experiment": {"name": "patches"}, "grid": {"decay": [0.99, 1.0]}}
SEARCH = {
    "name": "bad",
    "trials": 2,
    "experiment": {"name": "patches"},
    "parameters": {"decay": {"low": 0.98, "high": 1.0}},
    "evaluation": {"split": "validation", "validation_samples": 10},
}

STUDY_CASES = {
    "study_workers_0": (
        "study",
        STUDY,
        ["--workers", "0"],
        "execution.workers: Input should be greater than or equal to 1",
    ),
    "study_workers_negative": ("study", STUDY, ["--workers", "-3"], "execution.workers: Input should be greater than"),
    "search_workers_0": (
        "search",
        SEARCH,
        ["--workers", "0"],
        "execution.workers: Input should be greater than or equal",
    ),
    "search_workers_negative": ("search", SEARCH, ["--workers", "-3"], "execution.workers: Input should be greater"),
    "grid_value_repeated": (
        "study",
        {**STUDY, "grid": {"decay": [0.99, 0.99]}},
        [],
        "the values [0.99] appear more than once",
    ),
    "point_repeated": (
        "study",
        {**STUDY, "grid": {}, "points": [{"decay": 0.99}, {"decay": 0.99}]},
        [],
        "the points {'decay': 0.99} appear more than once",
    ),
    "grid_parameter_twice": (
        "study",
        {**STUDY, "grid": {"decay": [0.99], "sleep.decay": [1.0]}},
        [],
        "name one parameter twice",
    ),
    "grid_value_nan": (
        "study",
        {**STUDY, "grid": {"decay": [float("nan")]}},
        [],
        "grid.decay.0: Input should be a finite",
    ),
    "study_name_parent": ("study", {**STUDY, "name": "../up"}, [], "'../up' is not a plain folder name"),
    "study_experiment_override": (
        "study",
        STUDY,
        ["--set", "experiment.sleep.steps=0"],
        "sleep.steps: Input should be greater than or equal to 1",
    ),
    "search_range_above_valid": (
        "search",
        {**SEARCH, "parameters": {"decay": {"low": 0.9, "high": 1.5}}},
        [],
        "the range [0.9, 1.5] of 'decay' reaches 1.5, which is not a valid value",
    ),
    "search_range_below_valid": (
        "search",
        {**SEARCH, "parameters": {"steps": {"low": 0, "high": 100}}},
        [],
        "the range [0, 100] of 'steps' reaches 0, which is not a valid value",
    ),
    "search_range_inf": (
        "search",
        {**SEARCH, "parameters": {"inc": {"low": 0.0, "high": float("inf")}}},
        [],
        "parameters.inc.high: Input should be a finite number",
    ),
}


@pytest.mark.parametrize("command, values, options, message", STUDY_CASES.values(), ids=STUDY_CASES.keys())
def test_bad_study_or_search(tmp_path, capsys, command, values, options, message):
    _fails(
        [command, _toml(tmp_path, values), "--out", tmp_path / "out", "--quiet", *options],
        message,
        tmp_path / "out",
        capsys,
    )
    assert not (tmp_path / "out").exists()


# --- saved models that do not load -----------------------------------------------------------------------------


def test_zero_byte_slept_model(tmp_path, capsys):
    from bio_sleep.config import config_to_toml, default_config
    from bio_sleep.models import build_fc

    config = default_config()
    (tmp_path / "config.toml").write_text(config_to_toml(config))
    torch.save(build_fc(config.model.widths).state_dict(), tmp_path / "control.pt")
    (tmp_path / "slept.pt").write_bytes(b"")
    _fails(["analyse-run", tmp_path, "--out", tmp_path / "analyses"], "slept.pt does not load", tmp_path, capsys)
    assert not (tmp_path / "analyses").exists()


def test_analyse_cnn_refuses_nan_weights(tmp_path, capsys):
    from bio_sleep.analysis.cnn_report import build_model, read_architecture

    config_path = _src_config(tmp_path)
    model = build_model(read_architecture(config_path))
    state = model.state_dict()
    next(iter(state.values()))[0].fill_(float("nan"))
    torch.save(state, tmp_path / "nan.pt")
    torch.save(build_model(read_architecture(config_path)).state_dict(), tmp_path / "ok.pt")
    _fails(
        [
            "analyse-cnn",
            "--model",
            f"ok={tmp_path / 'ok.pt'}",
            "--model",
            f"nan={tmp_path / 'nan.pt'}",
            "--config",
            config_path,
            "--out",
            tmp_path / "cnn",
            "--samples",
            "0",
        ],
        "model 'nan'",
        tmp_path,
        capsys,
    )
    assert not (tmp_path / "cnn").exists()


# --- silently wrong once: a sleep that diverges ----------------------------------------------------------------


def test_diverging_sleep_is_an_error_not_a_saved_result(tmp_path, capsys):
    config = _toml(
        tmp_path,
        {
            "output_dir": str(tmp_path / "runs"),
            "data": {"patches_train_copies": 2, "patches_test_copies": 2},
            "sleep": {"backend": "torch", "steps": 200, "inc": 1e300},
        },
    )
    _fails(["run", config, "--quiet"], "lower sleep.inc and sleep.dec or shorten", tmp_path / "runs", capsys)
    assert not list((tmp_path / "runs").rglob("slept.pt"))


# --- analysis output folders ------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["analyse", "analyse-run"])
def test_analysis_output_that_is_a_file(tmp_path, capsys, command):
    from bio_sleep.sleep.recording import SleepRecording

    recording = SleepRecording((2, 2), 0.001, np.ones((2, 5), dtype=int), [np.array([3, 2]), np.array([4, 1])])
    recording.to_dataset().to_netcdf(tmp_path / "recording.nc")
    (tmp_path / "taken").write_text("a file")
    source = tmp_path / "recording.nc" if command == "analyse" else tmp_path
    if command == "analyse-run":
        from bio_sleep.config import config_to_toml, default_config
        from bio_sleep.models import build_fc

        config = default_config()
        (tmp_path / "config.toml").write_text(config_to_toml(config))
        for name in ("control.pt", "slept.pt"):
            torch.save(build_fc(config.model.widths).state_dict(), tmp_path / name)
    _fails([command, source, "--out", tmp_path / "taken"], "as an output folder (File exists)", tmp_path, capsys)
    assert (tmp_path / "taken").read_text() == "a file"
