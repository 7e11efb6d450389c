"""Run an SRC reproduction over its trials into one output folder; finished trials survive interruption."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import tomli_w
import xarray as xr
from tqdm.auto import tqdm

from bio_sleep.config import result_identity
from bio_sleep.data.dataset import load_dataset
from bio_sleep.run_folder import RunFolder, load_netcdf
from bio_sleep.src.report import markdown_table, plot_figure2, plot_figure3
from bio_sleep.src.trial import run_trial


def trial_check(trial) -> str | None:
    """A finished trial holds a clean accuracy and every sweep's accuracies, none of them NaN (never written)."""
    accuracies = [name for name in trial.data_vars if name.startswith("accuracy_")]
    if "accuracy_clean" not in accuracies:
        return "no accuracy_clean"
    unwritten = [name for name in accuracies if np.isnan(trial[name].values).any()]
    return f"NaN in {unwritten}" if unwritten else None


def run_src_experiment(config, progress: bool = True, stale: str = "refuse") -> Path:
    """Every trial of ``config`` (skipping those already on disk), then results.nc, PNG figures and results.md.

    Each trial's models are kept as state dicts ``models/trial_<k>_<name>.pt`` (for ``bio-sleep analyse-cnn``).
    A rerun may change ``trials`` and ``output_dir``; any other change needs another folder. ``stale``: what to do
    with trials other code made (``bio_sleep.run_folder.STALE_CHOICES``).
    """
    root = Path(config.output_dir) / config.name
    identity = result_identity(config, exclude={"trials"})
    with RunFolder(root, identity, "config", stale=stale) as folder:
        folder.write_text("config.toml", tomli_w.dumps(config.model_dump(exclude_none=True)))
        data = load_dataset(config.data)
        trials = []
        for trial in tqdm(range(config.trials), desc=f"{config.name} trials", disable=not progress):
            name = f"trials/trial_{trial:02d}.nc"
            results = folder.reuse(name, load_netcdf, trial_check)
            if results is None:
                results, facts, models = run_trial(config, data, trial, progress)
                for network, model in models.items():
                    folder.write_torch(f"models/trial_{trial:02d}_{network}.pt", model.state_dict())
                results.attrs.update({k: json.dumps(v) for k, v in facts.items()})
                folder.write_netcdf(name, results)
            trials.append(results)
        combined = xr.concat(trials, dim="trial", combine_attrs="drop")
        combined.attrs.update(
            name=config.name,
            dataset=config.data.dataset,
            timings=json.dumps([dict(t.attrs) for t in trials], default=lambda v: v.item()),
        )
        folder.write_netcdf("results.nc", combined)
        folder.write("figure2.png", lambda p: plot_figure2(combined, p))
        folder.write("figure3.png", lambda p: plot_figure3(combined, p))
        folder.write_text("results.md", markdown_table(combined, config.data.dataset))
    return root
