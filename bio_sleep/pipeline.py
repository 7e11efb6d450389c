"""One experiment end to end: train, sleep, evaluate, write everything into one run folder.

Each stage writes its files as soon as it finishes (config first, then the
control model, the slept model and recording, then the evaluation), each
atomically and listed in the run folder's manifest, so an interrupted run
keeps what it finished and never leaves a half-written file.
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from torch import nn

from bio_sleep.analysis.weights import weights_dataset
from bio_sleep.config import ExperimentConfig, config_to_toml
from bio_sleep.data import ArrayDataset, load_dataset
from bio_sleep.errors import BioSleepError
from bio_sleep.evaluation import accuracy_sweep, plot_accuracy_sweep, sweeps_from_config
from bio_sleep.models import build_model, train_control
from bio_sleep.run_folder import LOCK, MANIFEST, RunFolder
from bio_sleep.sleep import sleep_model


@dataclass
class RunOutcome:
    folder: Path
    summary: dict


def new_run_folder(config: ExperimentConfig) -> Path:
    """``<output_dir>/<name>-<timestamp>``, created; never reuses an existing folder (nor one a concurrent run made)."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path(config.output_dir) / f"{config.name}-{stamp}"
    for suffix in itertools.count():
        folder = base if suffix == 0 else Path(f"{base}-{suffix}")
        try:
            folder.mkdir(parents=True)
        except FileExistsError:
            if folder.is_dir():
                continue  # taken by an earlier or a concurrent run
        except OSError:
            pass  # output_dir is a file or not writable: RunFolder names the problem
        return folder


def check_compatible(config: ExperimentConfig, data: ArrayDataset) -> None:
    """The model must fit the data: input width and number of classes."""
    widths = config.model.widths
    if widths[0] != data.n_inputs:
        raise BioSleepError(
            f"model.widths starts with {widths[0]} inputs but {data.name} has {data.n_inputs} values per sample; "
            f"set model.widths = [{data.n_inputs}, ...]"
        )
    if widths[-1] < data.n_classes:
        raise BioSleepError(
            f"model.widths ends with {widths[-1]} outputs but {data.name} has {data.n_classes} classes; "
            f"set the last width to {data.n_classes}"
        )
    if config.evaluation.blur_sigmas and data.image_shape is None:
        raise BioSleepError(
            f"{data.name} holds feature vectors, not images: set evaluation.blur_sigmas = [] (no blur on features)"
        )


# What a control's training depends on, section by section; the rest of the config may differ in a rerun.
CONTROL_SETTINGS = {"seed": (), "data": ("root", "download"), "model": (), "training": ("device",)}


def reused_control(folder, config: ExperimentConfig) -> nn.Module:
    """The control network of the earlier run folder ``folder``, listed complete in its manifest and trained as
    ``config`` trains it (the same ``CONTROL_SETTINGS``)."""
    import torch

    folder = Path(folder)
    try:
        identity = json.loads((folder / MANIFEST).read_text())["identity"]
        earlier = identity["config"]
    except (OSError, ValueError, KeyError, TypeError):
        raise BioSleepError(
            f"{folder} is not a folder of `bio-sleep run` (no readable {MANIFEST}); give the folder of an earlier run"
        ) from None
    now = config.model_dump(mode="json")

    def kept(section, ignored):
        return {k: v for k, v in section.items() if k not in ignored} if isinstance(section, dict) else section

    differing = [k for k, ignored in CONTROL_SETTINGS.items() if kept(earlier.get(k), ignored) != kept(now[k], ignored)]
    if differing:
        raise BioSleepError(
            f"the control in {folder} was trained with other {', '.join(differing)} settings than this config's; "
            "give the folder of a run with the same ones, or leave --control out to train a new control"
        )
    # reuse: the user names this control, as they would a network of their own, whatever code trained it.
    with RunFolder(folder, identity, "run", stale="reuse") as run:
        state = run.reuse("control.pt", lambda path: torch.load(path, weights_only=True))
    if state is None:
        raise BioSleepError(f"{folder} holds no complete control.pt; leave --control out to train a new control")
    model = build_model(config)
    model.load_state_dict(state)
    return model.eval()


def run_experiment(
    config: ExperimentConfig, progress: bool = True, log=print, control: nn.Module | None = None
) -> RunOutcome:
    """Train a control network (or take ``control``, see ``reused_control``), sleep it, evaluate both; return
    the run folder and a summary.

    A run stopped by a BioSleepError (a calibration that found no thresholds, a diverging sleep) keeps what it
    wrote, adds ``failed.json`` (the error and the files kept) and has no ``summary.json``, the mark of a
    complete run; the error names the folder and how to rerun without training again.
    """
    data = load_dataset(config.data)
    check_compatible(config, data)
    with RunFolder(new_run_folder(config), {"command": "run", "config": config.model_dump(mode="json")}, "run") as run:
        try:
            return _run_into(config, data, run, progress, log, control)
        except BioSleepError as error:
            kept = sorted(p.name for p in run.root.iterdir() if p.name not in (LOCK, MANIFEST))
            run.write_json("failed.json", {"error": str(error), "files_kept": kept})
            rerun = f"; rerun with `--control {run.root}` to reuse its trained control" if "control.pt" in kept else ""
            raise BioSleepError(
                f"{error} (the run stopped unfinished in {run.root}: no summary.json, failed.json says why{rerun})"
            ) from None


def _run_into(
    config: ExperimentConfig, data: ArrayDataset, run: RunFolder, progress: bool, log, control: nn.Module | None
) -> RunOutcome:
    folder = run.root
    run.write_text("config.toml", config_to_toml(config))
    log(f"run folder: {folder}")
    timings = {}

    start = time.perf_counter()
    control = control if control is not None else train_control(config, data, config.seed, progress)
    timings["train_s"] = time.perf_counter() - start
    run.write_torch("control.pt", control.state_dict())

    slept = sleep_model(
        control, data.x_train, config.sleep, seed=config.seed, image_shape=data.image_shape, progress=progress
    )
    timings["sleep_compile_s"], timings["sleep_simulate_s"] = slept.compile_seconds, slept.simulate_seconds
    if slept.calibration:  # the recorded config reproduces the sleep: the thresholds found, no targets
        config, timings["sleep_calibration_s"] = slept.calibration.applied_to(config), slept.calibration.seconds
        run.write_text("config.toml", config_to_toml(config))
        log(slept.calibration.summary(slept.before))
    run.write_torch("slept.pt", slept.model.state_dict())
    recording = slept.recording.to_dataset(attrs={"config": config_to_toml(config), "backend": config.sleep.backend})
    run.write_netcdf("sleep_recording.nc", recording)
    run.write_netcdf("weights.nc", weights_dataset(slept.before.weights, slept.after.weights))
    log(slept.recording.summary())

    start = time.perf_counter()
    sweeps = sweeps_from_config(config.evaluation, data.image_shape)
    results = accuracy_sweep(
        {"control": control, "sleep": slept.model},
        data.x_test,
        data.y_test,
        sweeps,
        seed=config.seed,
        image_shape=data.image_shape,
        batch_size=config.evaluation.batch_size,
        progress=progress,
        device=config.training.device,
    )
    timings["evaluate_s"] = time.perf_counter() - start
    results.attrs["config"] = config_to_toml(config)
    run.write_netcdf("results.nc", results)
    run.write("accuracy.png", lambda p: plot_accuracy_sweep(results, p, title=f"{config.name}: control vs sleep"))

    summary = {
        "folder": str(folder),
        "accuracy_clean": {n: float(results.accuracy_clean.sel(network=n)) for n in results.network.values},
        "sleep_layers": slept.recording.layer_report(),
        "calibration": slept.calibration and slept.calibration.report(slept.before),
        "timings": timings,
    }
    for name in sweeps:
        table = results[f"accuracy_{name}"]
        summary[f"mean_accuracy_{name}"] = {n: float(table.sel(network=n).mean()) for n in results.network.values}
    run.write_json("summary.json", summary)
    return RunOutcome(folder, summary)
