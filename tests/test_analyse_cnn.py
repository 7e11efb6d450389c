"""``bio-sleep analyse-cnn`` end to end on a tiny CNN and synthetic images; its bad inputs."""

import csv
import tomllib
from pathlib import Path

import numpy as np
import pytest
import tomli_w
import torch
import xarray as xr

from bio_sleep.analysis import attention, conv_filters
from bio_sleep.cli import main
from bio_sleep.config import config_to_toml, default_config
from bio_sleep.models import build_fc
from bio_sleep.models.cnn import build_cnn
from bio_sleep.src.defences import gradient_expansion

EXPERIMENTS = Path(__file__).parents[1] / "experiments"
# (1, 8, 8) -> conv 3x3 -> 6x6 -> pool -> 3x3 -> conv 2x2 -> 2x2 -> 16 -> 4 classes
LAYERS = [
    {"type": "conv", "out_channels": 3, "kernel_size": 3},
    {"type": "relu"},
    {"type": "maxpool", "size": 2},
    {"type": "conv", "out_channels": 4, "kernel_size": 2},
    {"type": "relu"},
    {"type": "flatten"},
    {"type": "linear", "out_features": 4},
]


@pytest.fixture
def run_folder(tmp_path):
    """A folder laid out like a bio-sleep src run: config.toml and models/trial_00_<name>.pt, synthetic npz data."""
    rng = np.random.default_rng(0)
    images = (rng.random((30, 1, 8, 8)) * (rng.random((30, 1, 8, 8)) < 0.4)).astype(np.float32)  # sparse, zeros kept
    np.savez(
        tmp_path / "data.npz",
        x_train=images[:20],
        y_train=np.arange(20) % 4,
        x_test=images[20:],
        y_test=np.arange(10) % 4,
        image_shape=np.array([1, 8, 8]),
    )
    values = tomllib.loads((EXPERIMENTS / "src_mnist_figure3.toml").read_text())
    values["data"] = {"dataset": "npz", "path": str(tmp_path / "data.npz")}
    values["model"] = {"input_shape": [1, 8, 8], "layers": LAYERS}
    values["evaluation"]["sweeps"] = {"gaussian_noise": [0.0, 0.2], "gaussian_blur": [1.0]}
    (tmp_path / "config.toml").write_text(tomli_w.dumps(values))
    torch.manual_seed(0)
    baseline = build_cnn(LAYERS, (1, 8, 8))
    (tmp_path / "models").mkdir()
    torch.save(baseline.state_dict(), tmp_path / "models" / "trial_00_baseline.pt")
    torch.save(gradient_expansion(baseline, [0.2, 0.1]).state_dict(), tmp_path / "models" / "trial_00_grad_exp.pt")
    return tmp_path


def _models(folder):
    return [
        "--model",
        f"baseline={folder / 'models/trial_00_baseline.pt'}",
        "--model",
        f"grad_exp={folder / 'models/trial_00_grad_exp.pt'}",
    ]


def _rows(path):
    return list(csv.DictReader(path.open()))


def test_analyse_cnn_writes_gradient_tables_and_attention(run_folder, capsys):
    out = run_folder / "analysis"
    assert main(["analyse-cnn", *_models(run_folder), "--out", str(out), "--samples", "6"]) == 0  # config found beside
    for name in (
        "gradient_statistics.csv",
        "gradient_statistics.nc",
        "gradient_kl.csv",
        "gradient_distributions.png",
        "attention_overlap.csv",
        "attention.png",
    ):
        assert (out / name).stat().st_size > 0, name
    # Table III: the numbers of conv_filters on the same weights
    baseline = build_cnn(LAYERS, (1, 8, 8))
    baseline.load_state_dict(torch.load(run_folder / "models/trial_00_baseline.pt"))
    expected = conv_filters.gradient_statistics(baseline)
    stats = _rows(out / "gradient_statistics.csv")
    assert [(r["model"], r["conv"]) for r in stats] == [
        ("baseline", "C1"),
        ("baseline", "C2"),
        ("grad_exp", "C1"),
        ("grad_exp", "C2"),
    ]
    np.testing.assert_allclose([float(r["gradient_variance"]) for r in stats[:2]], expected["gradient_variance"])
    # Gradient Expansion widens the distribution: larger variance, KL from the baseline > 0
    assert float(stats[2]["gradient_variance"]) > float(stats[0]["gradient_variance"])
    kl = _rows(out / "gradient_kl.csv")
    assert [(r["reference"], r["compared"]) for r in kl] == [("baseline", "grad_exp")] * 2
    assert all(float(r["kl_fitted_gaussians"]) > 0.01 and float(r["kl_histograms"]) > 0 for r in kl)
    nc = xr.load_dataset(out / "gradient_statistics.nc")
    np.testing.assert_allclose(nc["kl_fitted_gaussians"].sel(model="baseline"), 0.0, atol=1e-12)
    # Table VI: one row per model and condition (clean, each non-zero level) plus "all"; cosine similarities in [0, 1]
    overlap = _rows(out / "attention_overlap.csv")
    conditions = ["clean", "gaussian_noise=0.2", "gaussian_blur=1", "all"]
    assert [(r["model"], r["condition"]) for r in overlap] == [
        (m, c) for m in ("baseline", "grad_exp") for c in conditions
    ]
    assert all(0.0 <= float(r["overlap_mean"]) <= 1.0 for r in overlap)
    assert [int(r["samples"]) for r in overlap[:4]] == [6, 6, 6, 18]
    clean = torch.from_numpy(np.load(run_folder / "data.npz")["x_test"][:6])
    maps = attention.attention_maps(torch.nn.Sequential(torch.nn.Flatten(), baseline.eval()), baseline[4], clean)
    assert float(overlap[0]["overlap_mean"]) == pytest.approx(attention.attention_overlap(maps, clean).mean())
    assert "attention.png" in capsys.readouterr().out


def test_analyse_cnn_without_attention_and_with_one_model(run_folder):
    out = run_folder / "one"
    assert (
        main(
            [
                "analyse-cnn",
                "--model",
                f"b={run_folder / 'models/trial_00_baseline.pt'}",
                "--out",
                str(out),
                "--config",
                str(run_folder / "config.toml"),
                "--samples",
                "0",
            ]
        )
        == 0
    )
    assert (out / "gradient_statistics.csv").exists()
    assert not (out / "gradient_kl.csv").exists() and not (out / "attention_overlap.csv").exists()


def _error(args, capsys) -> str:
    assert main(args) == 2
    return capsys.readouterr().err


def test_analyse_cnn_bad_inputs(run_folder, capsys):
    out = ["--out", str(run_folder / "bad")]
    other = run_folder / "other.pt"
    torch.save(build_cnn(LAYERS[:3] + LAYERS[5:], (1, 8, 8)).state_dict(), other)
    message = _error(["analyse-cnn", "--model", f"x={other}", *out], capsys)  # config.toml found beside it
    assert "model 'x'" in message and "does not fit the network of" in message and "--config" in message
    (run_folder / "notes.pt").write_text("not a model")
    assert "is not a saved state dict" in _error(
        ["analyse-cnn", "--model", f"n={run_folder / 'notes.pt'}", "--config", str(run_folder / "config.toml"), *out],
        capsys,
    )
    # a fully connected network's run folder (bio-sleep run): the model loads, but has no conv layer
    fc_folder = run_folder / "fc_run"
    fc_folder.mkdir()
    (fc_folder / "config.toml").write_text(config_to_toml(default_config()))
    torch.save(build_fc([100, 4]).state_dict(), fc_folder / "control.pt")
    assert "has no conv layer" in _error(
        ["analyse-cnn", "--model", f"control={fc_folder / 'control.pt'}", *out], capsys
    )
    config = (run_folder / "config.toml").read_text()
    (run_folder / "config.toml").write_text(config.replace(str(run_folder / "data.npz"), str(run_folder / "gone.npz")))
    message = _error(["analyse-cnn", *_models(run_folder), *out], capsys)
    assert "Grad-CAM needs the test images" in message and "gone.npz" in message and "--samples 0" in message
    assert "repeat" in _error(["analyse-cnn", "--model", f"a={other}", "--model", f"a={other}", *out], capsys)
    assert "does not exist" in _error(["analyse-cnn", "--model", f"m={run_folder / 'models/m.pt'}", *out], capsys)
    assert "no config.toml" in _error(["analyse-cnn", "--model", f"m={run_folder / 'a/b/m.pt'}", *out], capsys)
    with pytest.raises(SystemExit):
        main(["analyse-cnn", "--model", "no_path_given", *out])


def test_analyse_cnn_run_folder_every_trial(run_folder, capsys):
    torch.manual_seed(1)
    second = build_cnn(LAYERS, (1, 8, 8))
    models = run_folder / "models"
    torch.save(second.state_dict(), models / "trial_01_baseline.pt")
    torch.save(gradient_expansion(second, [0.2, 0.1]).state_dict(), models / "trial_01_grad_exp.pt")
    (run_folder / "trials").mkdir()
    for trial in (0, 1):  # the trials bio-sleep src finished
        xr.Dataset().to_netcdf(run_folder / "trials" / f"trial_{trial:02d}.nc")
    out = run_folder / "run_analysis"
    run = ["analyse-cnn", "--run", str(run_folder), "--out", str(out), "--samples", "4"]
    assert main(run) == 0
    data = xr.load_dataset(out / "cnn_analyses.nc")
    assert list(data.trial.values) == [0, 1] and list(data.model.values) == ["baseline", "grad_exp"]
    assert list(data.conv.values) == ["C1", "C2"]
    # each trial's values are those of its own models
    expected = conv_filters.gradient_statistics(second).gradient_variance.values
    np.testing.assert_allclose(data.gradient_variance.sel(trial=1, model="baseline"), expected)
    np.testing.assert_allclose(data.gradient_sd**2, data.gradient_variance)
    np.testing.assert_allclose(data.kl_fitted_gaussians.sel(reference="baseline", model="baseline"), 0.0, atol=1e-12)
    assert (data.kl_fitted_gaussians.sel(reference="grad_exp", model="baseline") > 0.01).all()
    assert set(data.attention_overlap.condition.values) == {"clean", "gaussian_noise=0.2", "gaussian_blur=1", "all"}
    tables = (out / "tables.md").read_text()
    assert "2 trial(s)" in tables and "| gradient expansion | C1 | – |" in tables  # no paper values for npz data
    assert "| baseline | SRC | – | – | not in this run | |" in tables
    assert (out / "trial_00_gradient_distributions.png").is_file() and (out / "trial_00_attention.png").is_file()
    # the models of trial 0 are not on this machine: its analysis is kept, and the tables still cover both trials
    stamp = (out / "trials" / "trial_00.nc").stat().st_mtime_ns
    for path in models.glob("trial_00_*.pt"):
        path.rename(run_folder / path.name)
    assert main(run) == 0
    assert (out / "trials" / "trial_00.nc").stat().st_mtime_ns == stamp
    xr.testing.assert_identical(xr.load_dataset(out / "cnn_analyses.nc").drop_attrs(), data.drop_attrs())
    # a changed model is analysed again
    torch.manual_seed(2)
    third = build_cnn(LAYERS, (1, 8, 8))
    torch.save(third.state_dict(), models / "trial_01_baseline.pt")
    assert main(run) == 0
    np.testing.assert_allclose(
        xr.load_dataset(out / "cnn_analyses.nc").gradient_variance.sel(trial=1, model="baseline"),
        conv_filters.gradient_statistics(third).gradient_variance.values,
    )
    # a trial with neither models nor an analysis is named
    xr.Dataset().to_netcdf(run_folder / "trials" / "trial_02.nc")
    message = _error(run, capsys)
    assert "trials [2] " in message and "neither their models" in message and "--skip-missing" in message
    # ... or, on request, left out of the summary, which names it
    assert main([*run, "--skip-missing"]) == 0
    partial = xr.load_dataset(out / "cnn_analyses.nc")
    assert list(partial.trial.values) == [0, 1] and partial.attrs["trials_left_out"] == "2"
    assert (
        "Trials 0, 1; left out (neither their models nor an analysis were there): 2." in (out / "tables.md").read_text()
    )
    (run_folder / "trials" / "trial_02.nc").unlink()
    # trials must cover the same models, whether analysed now or kept
    (models / "trial_01_grad_exp.pt").unlink()
    assert "analyses cover different models" in _error(run, capsys)
    for path in run_folder.glob("trial_00_*.pt"):
        path.rename(models / path.name)
    assert "saved different models" in _error(run, capsys)
    message = _error(["analyse-cnn", "--run", str(run_folder / "models"), "--out", str(out)], capsys)
    assert "no config.toml" in message  # models/ is no run folder
    with pytest.raises(SystemExit):
        main(["analyse-cnn", "--run", str(run_folder), *_models(run_folder), "--out", str(out)])
    assert "--skip-missing needs --run" in _error(
        ["analyse-cnn", *_models(run_folder), "--out", str(out), "--skip-missing"], capsys
    )


def test_gradient_figure_shares_one_histogram_between_identical_kernels():
    torch.manual_seed(0)
    baseline = build_cnn(LAYERS, (1, 8, 8))
    head_only = build_cnn(LAYERS, (1, 8, 8))
    head_only.load_state_dict(baseline.state_dict())
    torch.nn.init.zeros_(head_only[-1].weight)  # FFF changes only the head
    models = {"baseline": baseline, "baseline_fff": head_only, "grad_exp": gradient_expansion(baseline, [0.2, 0.1])}
    layers = list(conv_filters.conv_layers(baseline))
    assert conv_filters._distinct(models, layers[0]) == {
        "baseline": ["baseline", "baseline_fff"],
        "grad_exp": ["grad_exp"],
    }
    assert conv_filters.conv_title(2, layers[1], conv_filters.conv_layers(baseline)[layers[1]]).startswith(
        "C2: conv 3→4 channels, 2×2 (module '"
    )
