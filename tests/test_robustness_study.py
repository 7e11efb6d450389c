"""The robustness study end to end on tiny data, and its bad-input checks."""

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import xarray as xr

from bio_sleep.config import result_identity
from bio_sleep.errors import BioSleepError
from bio_sleep.robustness import load_robustness_config, robustness_config_from_dict, run_study
from bio_sleep.robustness.study import prepare
from bio_sleep.run_folder import RunFolder

TINY_SLEEP = {"backend": "torch", "steps": 200}


def features_npz(path, n_features=2048, n_classes=5, seed=0):
    """Synthetic non-negative 'ResNet-50 features': a class prototype plus noise, clipped at 0."""
    rng = np.random.default_rng(seed)
    prototypes = rng.random((n_classes, n_features)).astype(np.float32)

    def draw(n):
        labels = np.arange(n) % n_classes
        return np.clip(prototypes[labels] + 0.3 * rng.standard_normal((n, n_features)), 0, None).astype(
            np.float32
        ), labels

    x_train, y_train = draw(100)
    x_test, y_test = draw(20)
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return path


def patches_config(**sections):
    values = {
        "name": "tiny",
        "data": {"patches_train_copies": 25, "patches_test_copies": 5},
        "sleep": TINY_SLEEP,
        "attacks": {
            "names": ["fgsm", "deepfool", "boundary"],
            "samples": 4,
            "samples_per_attack": {"boundary": 2},
            "boundary": {"max_iter": 3},
        },
        "defences": {"fine_tuning": {"adversarial_samples": {"fgsm": 4, "deepfool": 4, "boundary": 2}}},
        "study": {"paper_table": "patches"},
    }
    values.update(sections)
    return robustness_config_from_dict(values)


def test_patches_study_writes_numbers_table_figures_and_config(tmp_path):
    folder = run_study(patches_config(), output_dir=tmp_path / "run", progress=False)
    for name in (
        "config.toml",
        "summary.nc",
        "sweeps.nc",
        "fgsm_curve.nc",
        "per_class.nc",
        "table.md",
        "distortions.png",
        "fgsm_accuracy.png",
        "per_class.png",
    ):
        assert (folder / name).is_file(), name
    summary = xr.load_dataset(folder / "summary.nc")
    assert list(summary.network.values) == ["control", "distillation", "fine_tuning", "sleep"]
    rates = summary.success_rate.values  # NaN where a network got none of the attacked samples right
    assert not np.isnan(rates[..., 0]).any() and ((rates[~np.isnan(rates)] >= 0) & (rates[~np.isnan(rates)] <= 1)).all()
    assert dict(zip(summary.attack.values, summary.samples.values)) == {"fgsm": 4, "deepfool": 4, "boundary": 2}
    assert xr.load_dataset(folder / "parts" / "seed0_boundary_sleep.nc").sizes["sample"] == 2
    table = (folder / "table.md").read_text()
    assert "| FGSM |" in table and "paper 0.0175" in table and "Boundary 2" in table
    sweeps = xr.load_dataset(folder / "sweeps.nc")
    assert set(sweeps.network.values) == {
        "control",
        "distillation",
        "fine_tuning_gaussian_noise",
        "fine_tuning_gaussian_blur",
        "sleep",
    }
    assert load_robustness_config(folder / "config.toml").attacks.samples == 4
    # a rerun reuses the finished attacks in parts/ and gives the same table numbers; the three files a kill during
    # writing left in the old format (48 bytes, variables missing, the last variable never written: NaN) are
    # recomputed, one warning each
    parts = folder / "parts"
    (parts / "seed0_fgsm_control.nc").write_bytes((parts / "seed0_fgsm_control.nc").read_bytes()[:48])
    xr.load_dataset(parts / "seed0_deepfool_sleep.nc").drop_vars(["l2", "distance"]).to_netcdf(
        parts / "seed0_deepfool_sleep.nc"
    )
    unwritten = xr.load_dataset(parts / "seed0_boundary_control.nc")
    unwritten["l2"][:] = np.nan
    with RunFolder(folder, result_identity(patches_config()), "config") as listed:
        listed.write_netcdf("parts/seed0_boundary_control.nc", unwritten)  # listed complete, yet damaged
    with pytest.warns(UserWarning) as warned:
        again = run_study(patches_config(), output_dir=tmp_path / "run", progress=False)
    damaged = sorted(
        str(w.message).split(" is damaged")[0].split("/")[-1] for w in warned if "damaged" in str(w.message)
    )
    assert damaged == ["seed0_boundary_control.nc", "seed0_deepfool_sleep.nc", "seed0_fgsm_control.nc"]
    assert "l2 is NaN for samples classified correctly" in " ".join(str(w.message) for w in warned)
    assert (parts / "seed0_fgsm_control.nc.corrupt").is_file()
    assert xr.load_dataset(again / "summary.nc").score.equals(summary.score)
    assert "eta" in xr.load_dataset(parts / "seed0_fgsm_control.nc")
    with pytest.raises(BioSleepError, match="different config"):
        run_study(patches_config(seed=1), output_dir=tmp_path / "run", progress=False)


def test_a_resumed_study_tunes_the_network_an_uninterrupted_one_does(tmp_path):
    # With dropout, fine-tuning draws random numbers; a resume skips Boundary's finished fine-tuning, which must
    # not change the network DeepFool's fine-tuning makes afterwards (DeepFool's distances follow every weight).
    values = patches_config().model_dump()
    values["attacks"]["names"] = ["fgsm", "boundary", "deepfool"]
    values["model"].update(widths=[100, 20, 4], dropout=0.5)
    values["sleep"]["thresholds"] = [1.0, 1.0]
    config = robustness_config_from_dict(values)
    whole = run_study(config, output_dir=tmp_path / "whole", progress=False)
    resumed = tmp_path / "resumed"
    shutil.copytree(whole, resumed)
    (resumed / "parts" / "seed0_deepfool_fine_tuning.nc").unlink()
    run_study(config, output_dir=resumed, progress=False)
    part = "parts/seed0_deepfool_fine_tuning.nc"
    assert xr.load_dataset(resumed / part).distance.equals(xr.load_dataset(whole / part).distance)


def test_a_rerun_skips_finished_seeds_until_one_of_their_attack_parts_changes(tmp_path, monkeypatch):
    config = patches_config(study={"paper_table": "patches", "repeats": 2})
    folder = run_study(config, output_dir=tmp_path / "run", progress=False)
    results = ("summary.nc", "sweeps.nc", "fgsm_curve.nc", "per_class.nc")
    before = {name: xr.load_dataset(folder / name) for name in results}

    def retrain(config, data, seed, progress):
        raise RuntimeError(f"retrained seed {seed}")

    monkeypatch.setattr("bio_sleep.robustness.study.train_control", retrain)
    run_study(config, output_dir=folder, progress=False)  # every seed is finished: nothing is trained
    for name in results:  # all but the history attribute, which gains this run's line
        again, expected = xr.load_dataset(folder / name), before[name]
        assert again.attrs.pop("history") != expected.attrs.pop("history")
        xr.testing.assert_identical(again, expected)
    # a part remade (here: rewritten with other content) invalidates its seed's kept results, and only those
    part = "parts/seed1_fgsm_sleep.nc"
    changed = xr.load_dataset(folder / part)
    changed["l2"] = changed.l2 * 2
    with RunFolder(folder, result_identity(config), "config") as listed:
        listed.write_netcdf(part, changed)
    with pytest.raises(RuntimeError, match="retrained seed 1"):  # seed 0 was still skipped
        run_study(config, output_dir=folder, progress=False)


def test_feature_study_without_blur(tmp_path):
    path = features_npz(tmp_path / "features.npz")
    config = robustness_config_from_dict(
        {
            "name": "features",
            "data": {"dataset": "npz", "path": str(path)},
            "model": {"widths": [2048, 5], "output": "linear"},
            "training": {"epochs": 3, "loss": "cross_entropy", "batch_size": 20},
            "sleep": dict(TINY_SLEEP, max_rate=10.0),
            "evaluation": {"noise_levels": [0.0, 0.5]},
            "attacks": {"names": ["fgsm"], "samples": 10},
            "defences": {"fine_tuning": {"distortions": ["gaussian_noise"], "adversarial_samples": {"fgsm": 10}}},
        }
    )
    folder = run_study(config, output_dir=tmp_path / "run", progress=False)
    sweeps = xr.load_dataset(folder / "sweeps.nc")
    assert "accuracy_gaussian_blur" not in sweeps and "accuracy_gaussian_noise" in sweeps
    per_class = xr.load_dataset(folder / "per_class.nc")
    assert per_class.output_scores.sizes == {"seed": 1, "stage": 2, "class": 5, "output_unit": 5}


def test_noise_levels_given_as_std_are_swept_as_variances(tmp_path):
    """evaluation.noise_level_is = "std" squares the levels here as in `bio-sleep run` (the study once ignored it)."""
    config = robustness_config_from_dict(
        {
            "name": "std",
            "data": {"dataset": "npz", "path": str(features_npz(tmp_path / "features.npz", n_features=20))},
            "model": {"widths": [20, 5], "output": "linear"},
            "training": {"epochs": 1, "batch_size": 20},
            "sleep": dict(TINY_SLEEP, steps=20),
            "evaluation": {"noise_levels": [0.0, 0.5], "noise_level_is": "std"},
            "attacks": {"names": ["fgsm"], "samples": 4},
            "defences": {"fine_tuning": {"distortions": [], "adversarial_samples": {"fgsm": 4}}},
        }
    )
    sweeps = xr.load_dataset(run_study(config, output_dir=tmp_path / "run", progress=False) / "sweeps.nc")
    assert sweeps.gaussian_noise_level.values.tolist() == [0.0, 0.25]


@pytest.mark.parametrize(
    "change, message",
    [
        ({"attacks": {"names": ["carlini"]}}, "unknown attacks"),
        ({"attacks": {"jsma": {"gamma": 0.5}}}, "unknown key"),
        ({"defences": {"bagging": {}}}, "unknown key"),
        ({"defences": {"sleep_per_attack": {"deepfool": {"thresholds": [1.0, 2.0]}}}}, "one value per weight layer"),
        ({"defences": {"sleep_per_attack": {"deepfool": {"stepz": 3}}}}, "stepz"),
        ({"attacks": {"names": ["fgsm"], "samples_per_attack": {"jsma": 2}}}, "not in attacks.names"),
        ({"attacks": {"samples": 4, "samples_per_attack": {"boundary": 5}}}, "between 1 and attacks.samples"),
    ],
)
def test_bad_config_is_rejected(change, message):
    with pytest.raises(BioSleepError, match=message):
        patches_config(**change)


def test_sleep_per_attack_overrides_the_sleep_section():
    config = patches_config(defences={"sleep_per_attack": {"deepfool": {"steps": 17, "inc": 0.5}}})
    assert config.sleep_for("deepfool").steps == 17 and config.sleep_for("deepfool").inc == 0.5
    assert config.sleep_for("fgsm") == config.sleep
    from bio_sleep.robustness import load_robustness_config

    mnist = load_robustness_config(Path(__file__).parents[1] / "experiments" / "robustness_mnist.toml")
    assert mnist.sleep_for("jsma").max_rate == 455.4 and mnist.sleep.max_rate == 39.04


def test_bad_data_is_rejected_before_training(tmp_path):
    with pytest.raises(BioSleepError, match="test set has 20"):
        prepare(patches_config(attacks={"samples": 21}))
    with pytest.raises(BioSleepError, match="'boundary' is set to 21 samples"):
        prepare(patches_config(attacks={"names": ["boundary"], "samples_per_attack": {"boundary": 21}}))
    path = features_npz(tmp_path / "small.npz", n_features=512)
    wrong_width = robustness_config_from_dict(
        {"data": {"dataset": "npz", "path": str(path)}, "model": {"widths": [2048, 5]}}
    )
    with pytest.raises(BioSleepError, match="512 features per sample"):
        prepare(wrong_width)
    outside = robustness_config_from_dict(
        {
            "data": {"dataset": "npz", "path": str(path)},
            "model": {"widths": [512, 5]},
            "attacks": {"clip": [0.0, 1.0]},
            "defences": {"fine_tuning": {"distortions": ["gaussian_noise"]}},
        }
    )
    with pytest.raises(BioSleepError, match="outside attacks.clip"):
        prepare(outside)
    blur_on_features = robustness_config_from_dict(
        {"data": {"dataset": "npz", "path": str(path)}, "model": {"widths": [512, 5]}}
    )
    with pytest.raises(BioSleepError, match="cannot be blurred"):
        prepare(blur_on_features)


def test_fine_tuning_on_a_distortion_covers_every_level_when_the_training_set_is_smaller(monkeypatch):
    """4 training images and 5 noise levels: every level gets distorted images (it used to fail on an empty group)."""
    from bio_sleep.robustness import networks

    config = patches_config(data={"patches_train_copies": 1, "patches_test_copies": 1})
    data, _ = prepare(config)
    levels_seen = []
    real_distort = networks.distort

    def recording_distort(x, distortion, level, **kwargs):
        levels_seen.append((level, len(x)))
        return real_distort(x, distortion, level, **kwargs)

    monkeypatch.setattr(networks, "distort", recording_distort)
    control = torch.nn.Sequential(torch.nn.Linear(100, 4, bias=False))
    networks.fine_tuned_on_distortion(config, control, data, "gaussian_noise", seed=0, progress=False)
    levels = [level for level in config.evaluation.noise_levels if level > 0]
    assert [level for level, _ in levels_seen] == levels
    assert all(n >= 1 for _, n in levels_seen)
