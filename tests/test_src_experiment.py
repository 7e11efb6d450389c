"""SRC defences (FFF, Gradient Expansion, fine-tuning sets) and a tiny end-to-end reproduction run."""

import tomllib
from pathlib import Path

import pytest
import torch
import xarray as xr

from bio_sleep.data.dataset import load_dataset
from bio_sleep.errors import BioSleepError
from bio_sleep.models.cnn import build_cnn, conv_layers
from bio_sleep.src.config import src_config_from_dict
from bio_sleep.src.defences import distorted_training_set, feedforward_fitting, gradient_expansion
from bio_sleep.src.experiment import run_src_experiment
from bio_sleep.src.trial import run_trial
from helpers import SHARED_DATA, needs_shared_mnist

EXPERIMENTS = Path(__file__).parents[1] / "experiments"

LAYERS = [
    {"type": "conv", "out_channels": 3, "kernel_size": 3},
    {"type": "relu"},
    {"type": "maxpool", "size": 2},
    {"type": "flatten"},
    {"type": "linear", "out_features": 10},
]


def _tiny_config(tmp_path) -> dict:
    values = tomllib.loads((EXPERIMENTS / "src_mnist_figure3.toml").read_text())
    values.update(name="tiny", trials=2, output_dir=str(tmp_path))
    values["data"].update(root=str(SHARED_DATA), train_samples=500, test_samples=200)
    values["model"]["layers"] = [dict(layer) for layer in LAYERS]
    values["training"].update(epochs=4, learning_rate=0.05, momentum=0.9)
    values["sleep"].update(backend="torch", thresholds=[1.0], steps=30)
    values["finetune"].update(epochs=1, levels={"gaussian_noise": [0.1, 0.3], "salt_and_pepper": [0.1, 0.2]})
    values["gradient_expansion"]["alphas"] = [[0.05]]
    values["evaluation"]["sweeps"] = {"gaussian_noise": [0.0, 0.3], "gaussian_blur": [0.0, 2.0]}
    return values


def test_gradient_expansion_pushes_kernels_away_from_zero():
    torch.manual_seed(0)
    model = build_cnn(LAYERS, (1, 8, 8))
    expanded = gradient_expansion(model, [0.1])
    before, after = conv_layers(model)[0].weight, conv_layers(expanded)[0].weight
    torch.testing.assert_close(after.abs(), before.abs() + 0.1)
    assert torch.equal(torch.sign(after), torch.sign(before))
    assert torch.equal(model[-1].weight, expanded[-1].weight)


def test_feedforward_fitting_leaves_convolutions_frozen(tmp_path):
    config = src_config_from_dict(_tiny_config(tmp_path))
    torch.manual_seed(0)
    model = build_cnn(LAYERS, (1, 8, 8))
    x, y = torch.rand(64, 64), torch.randint(0, 10, (64,))
    fitted = feedforward_fitting(
        model, x, y, epochs=1, learning_rate=0.5, training=config.training, seed=0, progress=False
    )
    assert torch.equal(conv_layers(fitted)[0].weight, conv_layers(model)[0].weight)
    assert not torch.equal(fitted[-1].weight, model[-1].weight)
    assert all(p.requires_grad for p in fitted.parameters())


def test_fine_tuning_set_is_clean_plus_one_copy_per_level():
    x, y = torch.rand(10, 64) * 0.5 + 0.25, torch.arange(10)
    x_all, y_all = distorted_training_set(x, y, {"gaussian_noise": [0.1, 0.2, 0.3]}, seed=0, image_shape=(1, 8, 8))
    assert x_all.shape == (40, 64) and torch.equal(y_all, y.repeat(4)) and torch.equal(x_all[:10], x)
    assert not torch.equal(x_all[10:20], x) and x_all.min() >= 0 and x_all.max() <= 1


def test_config_errors_name_the_problem(tmp_path):
    values = _tiny_config(tmp_path)
    values["model"]["layers"][0]["padding"] = 1
    with pytest.raises(BioSleepError, match="padding"):
        src_config_from_dict(values)
    values = _tiny_config(tmp_path)
    values["gradient_expansion"]["alphas"] = [[0.1, 0.2]]
    with pytest.raises(BioSleepError, match="one per conv layer"):
        src_config_from_dict(values)


@needs_shared_mnist
def test_tiny_reproduction_writes_every_output_and_resumes(tmp_path, monkeypatch, capsys):
    values = _tiny_config(tmp_path)
    config = src_config_from_dict(values)
    folder = run_src_experiment(config, progress=False)
    for name in ("config.toml", "results.nc", "figure2.png", "figure3.png", "results.md", "trials/trial_01.nc"):
        assert (folder / name).is_file(), name
    results = xr.load_dataset(folder / "results.nc")
    assert results.sizes["trial"] == 2
    assert set(results.network.values) == {
        "baseline",
        "src",
        "src_fff",
        "grad_exp",
        "grad_exp_fff",
        "finetune_gaussian_noise",
        "finetune_salt_and_pepper",
        "finetune_all",
    }
    assert float(results.accuracy_clean.sel(network="baseline").min()) > 0.2  # it learned something
    assert "Paper claims" in (folder / "results.md").read_text()
    # every trial's models are kept, and bio-sleep analyse-cnn reads them with the run's config.toml
    assert len(list((folder / "models").glob("trial_01_*.pt"))) == results.sizes["network"]
    from bio_sleep.cli import main

    models = [f"--model={name}={folder / 'models' / f'trial_00_{name}.pt'}" for name in ("baseline", "src", "grad_exp")]
    assert main(["analyse-cnn", *models, "--out", str(tmp_path / "cnn"), "--samples", "20"]) == 0
    assert (tmp_path / "cnn" / "attention_overlap.csv").is_file() and (tmp_path / "cnn" / "gradient_kl.csv").is_file()
    stamp = (folder / "trials" / "trial_00.nc").stat().st_mtime_ns
    run_src_experiment(config, progress=False)  # finished trials are kept
    assert (folder / "trials" / "trial_00.nc").stat().st_mtime_ns == stamp
    # trials of edited code are refused, or kept when asked
    monkeypatch.setattr("bio_sleep.run_folder.code_version", lambda: "0.1.0+edited")
    rerun = ["src", str(folder / "config.toml"), "--out", str(tmp_path), "--quiet"]
    assert main(rerun) == 2 and "made by other bio-sleep code" in capsys.readouterr().err
    assert main([*rerun, "--stale", "reuse"]) == 0
    assert (folder / "trials" / "trial_00.nc").stat().st_mtime_ns == stamp
    with pytest.raises(BioSleepError, match="different config .*training"):  # ... but never mixed with others
        run_src_experiment(
            src_config_from_dict(dict(values, training=dict(values["training"], epochs=2))), progress=False
        )


def test_cli_subcommand_parses_and_reports_bad_configs(tmp_path):
    import argparse

    from bio_sleep.src.cli import add_parser

    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    args = parser.parse_args(["src", "experiments/src_cifar10_figure2.toml", "--trials", "2", "--epochs", "1"])
    assert args.trials == 2 and args.epochs == 1 and callable(args.handler)
    bad = tmp_path / "bad.toml"
    bad.write_text((EXPERIMENTS / "src_mnist_figure2.toml").read_text().replace("decay = 0.99", "decay = 1.5"))
    with pytest.raises(BioSleepError, match="decay"):
        args.handler(parser.parse_args(["src", str(bad)]))
    with pytest.raises(BioSleepError, match="--workers .*greater than or equal to 1"):
        args.handler(parser.parse_args(["src", "experiments/src_mnist_figure2.toml", "--workers", "0"]))


@needs_shared_mnist
def test_calibrated_trial_records_its_thresholds_and_rates(tmp_path):
    values = _tiny_config(tmp_path)
    values.update(models=["baseline", "src"])
    values["sleep"].update(steps=200, target_rates=[0.01])
    config = src_config_from_dict(values)
    _, facts, _ = run_trial(config, load_dataset(config.data), trial=0, progress=False)
    (layer,) = facts["calibration"]
    assert layer["target_rate"] == 0.01 and layer["threshold"] != 1.0  # found, not the configured one
    assert 0.8 < layer["achieved_over_target"] < 1.25


@needs_shared_mnist
def test_trials_on_dask_equal_trials_in_this_process(tmp_path):
    from bio_sleep.config import ExecutionConfig

    values = _tiny_config(tmp_path)
    values.update(models=["baseline", "src"])
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a worker's trial equals a one-thread trial (float32 training differs across counts)
    try:
        here = run_src_experiment(src_config_from_dict(dict(values, output_dir=str(tmp_path / "here"))), progress=False)
    finally:
        torch.set_num_threads(threads)
    workers = ExecutionConfig(workers=2)
    on_dask = run_src_experiment(
        src_config_from_dict(dict(values, output_dir=str(tmp_path / "dask"))), progress=False, execution=workers
    )
    for trial in (0, 1):
        name = f"trials/trial_{trial:02d}.nc"
        expected, got = xr.load_dataset(here / name), xr.load_dataset(on_dask / name)
        xr.testing.assert_equal(got, expected)  # the data; the attrs hold each run's own timings
        assert got.attrs["sleep_spikes"] == expected.attrs["sleep_spikes"]
        for network in ("baseline", "src"):
            model = f"models/trial_{trial:02d}_{network}.pt"
            for key, value in torch.load(here / model).items():
                assert torch.equal(torch.load(on_dask / model)[key], value), (model, key)
