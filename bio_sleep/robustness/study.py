"""Run the ICLR 2020 robustness study from a RobustnessConfig into one output folder.

Per seed: train the control, build the distilled, fine-tuned and slept
networks, attack each, sweep noise / blur, and record per-class views. Each
finished attack is written to ``parts/`` at once (atomically, listed in the
run folder's manifest); rerunning the same config reuses those that pass their
checks (the networks are retrained from the same seed) and recomputes damaged
ones, so an interrupted run loses only the attack in progress. A finished
seed's sweeps, curve and per-class views are kept there too, with the
checksums of the attack parts they were made from; while those parts are
unchanged, a rerun skips the seed without retraining. A folder written by a
different config is refused, so no stale part is ever reused.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import xarray as xr
from tqdm.auto import tqdm

from bio_sleep.attacks import check_attack_inputs, data_range, fgsm_curve, run_attack
from bio_sleep.config import config_to_toml, result_identity
from bio_sleep.data import load_dataset
from bio_sleep.errors import BioSleepError
from bio_sleep.evaluation import accuracy_sweep, sweeps_from_config
from bio_sleep.models import train_control
from bio_sleep.robustness import networks
from bio_sleep.run_folder import RunFolder, load_netcdf, sha256

NETWORKS = ("control", "distillation", "fine_tuning", "sleep")
SUMMARY_KEYS = ("score", "score_successful", "success_rate", "success_rate_within_l2", "score_within_l2", "seconds")


def _clip(config, data) -> tuple[float, float]:
    return tuple(config.attacks.clip) if config.attacks.clip is not None else data_range(data)


def prepare(config):
    """Load the data and check everything that can be checked before training starts."""
    data = load_dataset(config.data)
    if data.n_inputs != config.model.widths[0]:
        raise BioSleepError(
            f"the data has {data.n_inputs} features per sample but model.widths starts with {config.model.widths[0]}; "
            f"make them agree (CUB-200 ResNet-50 features: 2048)"
        )
    if config.model.widths[-1] != data.n_classes:
        raise BioSleepError(
            f"model.widths ends with {config.model.widths[-1]} outputs but the data has {data.n_classes} classes"
        )
    for attack in config.attacks.names:
        samples = config.attacks.samples_for(attack)
        if samples is not None and samples > len(data.x_test):
            raise BioSleepError(
                f"attack '{attack}' is set to {samples} samples (attacks.samples / samples_per_attack) "
                f"but the test set has {len(data.x_test)}; lower it"
            )
    clip = _clip(config, data)
    for name, x in (("training", data.x_train), ("test", data.x_test)):
        if float(x.min()) < clip[0] or float(x.max()) > clip[1]:
            raise BioSleepError(
                f"{name} inputs span [{float(x.min()):.4g}, {float(x.max()):.4g}], outside attacks.clip {clip}"
            )
    if data.image_shape is None and "gaussian_blur" in config.defences.fine_tuning.distortions:
        raise BioSleepError(
            "feature vectors cannot be blurred: remove gaussian_blur from defences.fine_tuning.distortions"
        )
    return data, clip


def _part(seed: int, attack: str, network: str) -> str:
    """Where (in the run folder) one finished attack on one network is kept."""
    return f"parts/seed{seed}_{attack}_{network}.nc"


def _seed_result(seed: int, key: str) -> str:
    """Where one of a finished seed's results (a key of ``run_seed``'s dict) is kept."""
    return f"parts/seed{seed}_{key}.nc"


def _result_keys(config) -> list[str]:
    return ["summary", "sweeps", *(["fgsm_curve"] if "fgsm" in config.attacks.names else []), "per_class"]


def _attack_parts_checksums(config, seed: int, folder: RunFolder) -> str | None:
    """The checksums of the seed's attack parts as one string; None while any is missing."""
    names = [_part(seed, attack, network) for attack in config.attacks.names for network in NETWORKS]
    if not all(folder.path(name).is_file() for name in names):
        return None
    return json.dumps({name: sha256(folder.path(name)) for name in names}, sort_keys=True)


def _finished_seed(config, seed: int, folder: RunFolder) -> dict | None:
    """The seed's results from an earlier run, if every attack part is still the one they were made from."""
    made_from = _attack_parts_checksums(config, seed, folder)
    if made_from is None:
        return None
    kept = {}
    for key in _result_keys(config):
        result = folder.reuse(_seed_result(seed, key), load_netcdf)
        if result is None or result.attrs.pop("made_from", None) != made_from:
            return None  # a part was remade since: the seed's networks are retrained and its results rewritten
        kept[key] = result
    return kept


# The variables of bio_sleep.attacks.metrics.per_sample.
PER_SAMPLE = ("label", "clean_prediction", "adversarial_prediction", "correct", "success", "distance", "l2")


def part_check(attack: str, labels: np.ndarray) -> Callable[[xr.Dataset], str | None]:
    """What a part file of ``attack`` on samples with ``labels`` must hold: every per-sample variable, the labels
    attacked, the summary attributes, and a distance (and FGSM's eta) for every sample classified correctly."""

    def check(part: xr.Dataset) -> str | None:
        missing = [v for v in PER_SAMPLE + (("eta",) if attack == "fgsm" else ()) if v not in part]
        if missing:
            return f"missing variables {missing}"
        missing_attrs = [k for k in ("attack", *SUMMARY_KEYS[:3], "seconds") if k not in part.attrs]
        if missing_attrs or part.attrs["attack"] != attack:
            return f"not a finished {attack} result (attributes {missing_attrs or ['attack']})"
        if part.sizes.get("sample") != len(labels) or not np.array_equal(part.label.values, labels):
            return f"not the {len(labels)} samples this config attacks"
        correct = part.correct.values.astype(bool)
        for name in ("distance", "l2") + (("eta",) if attack == "fgsm" else ()):
            if np.isnan(part[name].values[correct]).any():
                return f"{name} is NaN for samples classified correctly (never written)"
        return None

    return check


@torch.no_grad()
def _mean_scores_per_class(model, x, y, n_classes) -> np.ndarray:
    outputs = model(x)
    return np.stack(
        [
            outputs[y == c].mean(dim=0).numpy() if (y == c).any() else np.full(n_classes, np.nan)
            for c in range(n_classes)
        ]
    )


def run_seed(config, data, clip, seed: int, folder: RunFolder, progress: bool) -> dict:
    """All results of one seed, as xarray objects (kept in ``folder``, and taken from it when still valid)."""
    finished = _finished_seed(config, seed, folder)
    if finished is not None:
        return finished
    x_attack = data.x_test[: config.attacks.samples]
    y_attack = data.y_test[: config.attacks.samples]
    control = train_control(config, data, seed, progress)
    check_attack_inputs(control, x_attack, y_attack, data.n_classes, clip)
    models = {
        "control": control,
        "distillation": networks.distilled(config, control, data, seed, progress),
        "sleep": networks.slept(config, control, data, seed, progress),
    }
    sleep_for = {
        a: networks.slept(config, control, data, seed, progress, attack=a)
        for a in config.defences.sleep_per_attack
        if a in config.attacks.names
    }
    tuned_on = {
        d: networks.fine_tuned_on_distortion(config, control, data, d, seed, progress)
        for d in config.defences.fine_tuning.distortions
    }
    summary = np.full((len(config.attacks.names), len(NETWORKS), len(SUMMARY_KEYS)), np.nan)
    etas = {}
    # Parts already on disk count at once, so the bar shows what a resumed run has left.
    parts_bar = tqdm(
        total=len(config.attacks.names) * len(NETWORKS),
        desc=f"seed {seed} attack parts",
        unit="part",
        disable=not progress,
        leave=False,
    )
    for a_index, attack in enumerate(config.attacks.names):
        parts_bar.set_postfix_str(attack)
        # A resumed run skips the fine-tuned network (and its adversarial training set) when every part is on disk
        # and sound; FGSM's is always built, the FGSM curve below needs it.
        count = config.attacks.samples_for(attack)
        check = part_check(attack, y_attack[:count].numpy())
        kept = {network: folder.reuse(_part(seed, attack, network), load_netcdf, check) for network in NETWORKS}
        finished = all(part is not None for part in kept.values())
        attacked = dict(
            models,
            fine_tuning=None
            if finished and attack != "fgsm"
            else networks.fine_tuned_on_attack(config, control, data, attack, clip, seed, progress),
        )
        attacked["sleep"] = sleep_for.get(attack, models["sleep"])
        for n_index, network in enumerate(NETWORKS):
            parts_bar.set_postfix_str(f"{attack} on {network}")
            result = kept[network]
            if result is None:
                result = run_attack(
                    attack,
                    attacked[network],
                    x_attack[:count],
                    y_attack[:count],
                    n_classes=data.n_classes,
                    params=getattr(config.attacks, attack),
                    clip=clip,
                    seed=seed,
                    progress=progress,
                    workers=config.attacks.workers,
                    device=config.training.device,
                )
                folder.write_netcdf(_part(seed, attack, network), result.drop_vars("adversarial", errors="ignore"))
            summary[a_index, n_index] = [result.attrs.get(k, np.nan) for k in SUMMARY_KEYS]
            if attack == "fgsm":
                etas[network] = result.eta.values
                if network == "fine_tuning":
                    models["fine_tuning_fgsm"] = attacked["fine_tuning"]
            parts_bar.update()
    parts_bar.close()
    results = {
        "summary": xr.Dataset(
            {k: (("attack", "network"), summary[..., i]) for i, k in enumerate(SUMMARY_KEYS)},
            coords={
                "attack": list(config.attacks.names),
                "network": list(NETWORKS),
                "samples": (
                    "attack",
                    [len(data.x_test[: config.attacks.samples_for(a)]) for a in config.attacks.names],
                ),
            },
        )
    }
    results["summary"].samples.attrs["long_name"] = (
        "test samples attacked (the first N), before keeping the correct ones"
    )
    sweep_models = {
        "control": control,
        "distillation": models["distillation"],
        **{f"fine_tuning_{d}": m for d, m in tuned_on.items()},
        "sleep": models["sleep"],
    }
    results["sweeps"] = accuracy_sweep(
        sweep_models,
        data.x_test,
        data.y_test,
        sweeps_from_config(config.evaluation, data.image_shape),
        seed=seed,
        image_shape=data.image_shape,
        progress=progress,
        device=config.training.device,
    )
    if "fgsm" in config.attacks.names:
        curve_models = {n: models.get("fine_tuning_fgsm") if n == "fine_tuning" else models[n] for n in NETWORKS}
        results["fgsm_curve"] = xr.concat(
            [
                fgsm_curve(
                    m,
                    data.x_test,
                    data.y_test,
                    n_classes=data.n_classes,
                    params=config.attacks.fgsm,
                    clip=clip,
                    device=config.training.device,
                    progress=progress,
                )
                for m in curve_models.values()
            ],
            dim=xr.DataArray(list(NETWORKS), dims="network"),
        ).to_dataset()
        censored = config.attacks.fgsm.eta_max + config.attacks.fgsm.eta_step
        labels = y_attack.numpy()
        per_class = [
            [
                np.nanmean(np.where(np.isinf(etas[n]), censored, etas[n])[labels == c])
                if (labels == c).any()
                else np.nan
                for c in range(data.n_classes)
            ]
            for n in NETWORKS
        ]
        results["per_class"] = xr.Dataset(
            {"fgsm_eta_mean": (("network", "class"), np.array(per_class))},
            coords={"network": list(NETWORKS), "class": np.arange(data.n_classes)},
        )
        results["per_class"]["fgsm_eta_mean"].attrs["long_name"] = (
            "mean smallest flipping eta over correctly classified samples of the class; "
            f"never flipped counted as {censored}"
        )
    scores = [_mean_scores_per_class(m, data.x_test, data.y_test, data.n_classes) for m in (control, models["sleep"])]
    output_scores = xr.DataArray(
        np.stack(scores),
        dims=("stage", "class", "output_unit"),
        coords={
            "stage": ["before_sleep", "after_sleep"],
            "class": np.arange(data.n_classes),
            "output_unit": np.arange(data.n_classes),
        },
        name="output_scores",
    )
    results["per_class"] = xr.merge([results.get("per_class", xr.Dataset()), output_scores.to_dataset()])
    made_from = _attack_parts_checksums(config, seed, folder)
    for key in _result_keys(config):
        folder.write_netcdf(_seed_result(seed, key), results[key].assign_attrs(made_from=made_from))
    return results


def run_study(config, *, output_dir: str | Path | None = None, progress: bool = True, stale: str = "refuse") -> Path:
    """Run the study; returns the folder holding config.toml, the netCDF files, table.md and the figures.

    ``stale``: what to do with parts other code made (``bio_sleep.run_folder.STALE_CHOICES``).
    """
    from bio_sleep.robustness.report import write_report

    folder = Path(output_dir) if output_dir is not None else Path(config.output_dir) / config.name
    identity = result_identity(config)
    with RunFolder(folder, identity, "config", stale=stale) as run_folder:
        data, clip = prepare(config)
        run_folder.write_text("config.toml", config_to_toml(config))
        start = time.perf_counter()
        seeds = [config.seed + r for r in range(config.study.repeats)]
        per_seed = [
            run_seed(config, data, clip, s, run_folder, progress)
            for s in tqdm(seeds, desc="robustness seeds", unit="seed", disable=not progress)
        ]
        combined = {
            key: xr.concat([r[key] for r in per_seed], dim=xr.DataArray(seeds, dims="seed")) for key in per_seed[0]
        }
        for key, dataset in combined.items():
            dataset.attrs["config"] = config_to_toml(config)
            run_folder.write_netcdf(f"{key}.nc", dataset)
        write_report(config, combined, run_folder, seconds=time.perf_counter() - start)
    return folder
