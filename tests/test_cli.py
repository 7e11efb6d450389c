"""The command line: starts without the heavy stack, --version, python -m, --set, one --out, Ctrl-C."""

import subprocess
import sys
import tomllib

import pytest

from bio_sleep.cli import main


def test_the_parser_imports_no_heavy_library():
    """`bio-sleep --help` must start at once: building the parser imports neither torch nor ART nor Brian2."""
    code = (
        "import sys; from bio_sleep.cli import build_parser; build_parser(); "
        "print(sorted(m for m in ('torch', 'art', 'brian2', 'scipy', 'sympy', 'dask', 'xarray') if m in sys.modules))"
    )
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"
    )


def test_version_and_python_dash_m():
    result = subprocess.run([sys.executable, "-m", "bio_sleep", "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.startswith("bio-sleep ")


def test_set_overrides_are_parsed_as_toml_and_validated(capsys):
    assert (
        main(
            [
                "config",
                "--set",
                "sleep.steps=500",
                "--set",
                "training.epochs=2",
                "--set",
                "sleep.backend=torch",
                "--set",
                "evaluation.noise_levels=[0.0, 0.5]",
                "--set",
                'name="short"',
            ]
        )
        == 0
    )
    config = tomllib.loads(capsys.readouterr().out)
    assert (config["sleep"]["steps"], config["training"]["epochs"], config["sleep"]["backend"]) == (500, 2, "torch")
    assert config["evaluation"]["noise_levels"] == [0.0, 0.5] and config["name"] == "short"


def test_set_replaces_one_element_of_a_list(capsys):
    assert main(["config", "mnist_iclr_generalisation", "--set", "sleep.thresholds.1=0.5"]) == 0
    thresholds = tomllib.loads(capsys.readouterr().out)["sleep"]["thresholds"]
    assert len(thresholds) == 3 and thresholds[1] == 0.5
    assert main(["config", "mnist_iclr_generalisation", "--set", "sleep.thresholds.3=0.5"]) == 2
    assert "'3' is not an index of the list" in capsys.readouterr().err


def test_config_prints_a_shipped_example_by_name(capsys):
    assert main(["config", "mnist_iclr_generalisation"]) == 0
    assert tomllib.loads(capsys.readouterr().out)["name"] == "mnist_iclr_generalisation"
    assert main(["config", "no_such_example"]) == 2
    assert "neither a config file nor a shipped example" in capsys.readouterr().err


def test_set_reaches_a_study_experiment_given_by_path(capsys):
    from pathlib import Path

    study = Path(__file__).parents[1] / "experiments/study_patches_inc_threshold.toml"
    assert main(["config", str(study), "--set", "experiment.sleep.steps=123", "--set", "execution.workers=3"]) == 0
    config = tomllib.loads(capsys.readouterr().out)
    assert config["experiment"]["sleep"]["steps"] == 123 and config["execution"]["workers"] == 3


@pytest.mark.parametrize(
    "command", ["run", "src", "robustness", "study", "search", "analyse", "analyse-run", "analyse-cnn"]
)
def test_one_spelling_for_the_output_folder(command, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = capsys.readouterr().out
    assert "--out" in text and "--output-dir" not in text and "--output " not in text
    reads_data = command not in ("analyse",)
    assert ("--data-root" in text) == reads_data
    assert ("--set" in text) == (command != "analyse")
    assert "--quiet" in text or command == "analyse"  # every command with progress bars can hide them
    # every command that resumes in its output folder says what to do with results of other code
    assert ("--stale {refuse,recompute,reuse}" in text) == (
        command in ("src", "robustness", "study", "search", "analyse-cnn")
    )


def test_ctrl_c_anywhere_is_exit_130_with_what_was_kept(monkeypatch, capsys):
    import bio_sleep.pipeline

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(bio_sleep.pipeline, "run_experiment", interrupted)
    assert main(["run", "--quiet"]) == 130
    assert "bio-sleep: interrupted; the run was not finished" in capsys.readouterr().err


def test_sigint_during_a_brian2_run_is_not_swallowed():
    """Brian2's import-time SIGINT handler only flags a running network to stop (a standalone binary never
    hears of it): after the CLI's setup it raises KeyboardInterrupt like anywhere else."""
    import signal

    import brian2
    from brian2 import Network

    from bio_sleep.cli import _ctrl_c_raises

    handler = brian2._int_handler
    before = brian2.prefs.core.stop_on_keyboard_interrupt
    _ctrl_c_raises()
    Network._globally_running, Network._globally_stopped = True, False
    try:
        with pytest.raises(KeyboardInterrupt):
            handler.__class__(signal.default_int_handler)(signal.SIGINT, None)
        assert not Network._globally_stopped
    finally:
        Network._globally_running, Network._globally_stopped = False, False
        brian2.prefs.core.stop_on_keyboard_interrupt = before


def test_ctrl_c_wrapped_by_brian2_is_still_an_interrupt(monkeypatch, capsys):
    """Brian2's runtime targets re-raise the KeyboardInterrupt they meet as a BrianObjectException."""
    import bio_sleep.pipeline

    def interrupted_in_brian2(*args, **kwargs):
        raise RuntimeError("Error encountered with object named 'rate_0'") from KeyboardInterrupt()

    monkeypatch.setattr(bio_sleep.pipeline, "run_experiment", interrupted_in_brian2)
    assert main(["run", "--quiet"]) == 130
    assert "Traceback" not in capsys.readouterr().err


def test_other_errors_are_not_taken_for_interrupts(monkeypatch):
    import bio_sleep.pipeline

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(bio_sleep.pipeline, "run_experiment", broken)
    with pytest.raises(RuntimeError, match="a bug"):
        main(["run", "--quiet"])
