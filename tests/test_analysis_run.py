"""bio-sleep analyse-run: the ICLR paper's analyses of a run folder."""

import tomllib

import numpy as np
import pytest
import tomli_w
import xarray as xr

from bio_sleep.analysis.run_report import load_run
from bio_sleep.cli import main
from bio_sleep.config import default_config, with_overrides
from bio_sleep.errors import BioSleepError
from bio_sleep.pipeline import run_experiment


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    """A Patches run with one hidden layer whose thresholds let it spike."""
    config = with_overrides(
        default_config(),
        {
            "output_dir": str(tmp_path_factory.mktemp("runs")),
            "model": {"widths": [100, 12, 4]},
            "data": {"patches_train_copies": 100, "patches_test_copies": 20},
            "sleep": {"backend": "torch", "steps": 300, "thresholds": [0.5, 0.5]},
            "evaluation": {"noise_levels": [0.0], "blur_sigmas": [0.0]},
        },
    )
    return run_experiment(config, progress=False, log=lambda *_: None).folder


def test_analyse_run_writes_correlations_and_digit_specific_neurons(run_folder, tmp_path, capsys):
    out = tmp_path / "analyses"
    assert main(["analyse-run", str(run_folder), "--out", str(out), "--top-k", "5", "--spiking-samples", "40"]) == 0
    correlations = xr.load_dataset(out / "class_correlations.nc")
    assert list(correlations.condition.values) == ["clean", "noisy", "blurred"]
    assert float(np.abs(correlations.difference_to_control.sel(network="control")).max()) == 0.0
    digit = xr.load_dataset(out / "digit_specific.nc")
    assert digit.normalised_activation.dims == ("layer", "network", "class")
    for name in ("normalised_activation", "normalised_spike_count"):
        values = digit[name].values
        assert ((values >= 0) & (values <= 1)).all() and values.max() > 0
    assert (out / "digit_specific_spikes_layer1.png").stat().st_size > 0
    printed = capsys.readouterr()
    assert "note:" not in printed.out
    assert "analyses:" in printed.err and "3/3" in printed.err  # the bar over its stages: correlations, ANN, SNN
    assert main(["analyse-run", str(run_folder), "--out", str(out), "--spiking-samples", "20", "--quiet"]) == 0
    assert "analyses" not in capsys.readouterr().err


def test_silent_spiking_layer_is_reported(run_folder, tmp_path):
    config, data, models = load_run(run_folder)
    silent = config.model_copy(update={"sleep": config.sleep.model_copy(update={"thresholds": [1e6, 1e6]})})
    notes = []
    from bio_sleep.analysis.run_report import analyse_run

    analyse_run(silent, data, models, tmp_path, top_k=3, spiking_samples=20, log=notes.append)
    assert len(notes) == 1 and "did not spike" in notes[0]


def test_analyse_run_rejects_incomplete_or_mismatched_folders(run_folder, tmp_path):
    with pytest.raises(BioSleepError, match="lacks"):
        load_run(tmp_path)
    mismatched = tmp_path / "mismatched"
    mismatched.mkdir()
    for name in ("control.pt", "slept.pt"):
        (mismatched / name).write_bytes((run_folder / name).read_bytes())
    values = tomllib.loads((run_folder / "config.toml").read_text())
    values["model"]["widths"] = [100, 7, 4]
    (mismatched / "config.toml").write_text(tomli_w.dumps(values))
    with pytest.raises(BioSleepError, match="does not load into the network"):
        load_run(mismatched)
