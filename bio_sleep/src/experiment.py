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
from bio_sleep.errors import BioSleepError
from bio_sleep.run_folder import RunFolder, load_netcdf
from bio_sleep.src.config import SrcExperimentConfig
from bio_sleep.src.report import markdown_table, plot_figure2, plot_figure3
from bio_sleep.src.trial import run_trial


def trial_check(trial) -> str | None:
    """A finished trial holds a clean accuracy and every sweep's accuracies, none of them NaN (never written)."""
    accuracies = [name for name in trial.data_vars if name.startswith("accuracy_")]
    if "accuracy_clean" not in accuracies:
        return "no accuracy_clean"
    unwritten = [name for name in accuracies if np.isnan(trial[name].values).any()]
    return f"NaN in {unwritten}" if unwritten else None


def _trial_states(config, data, trial: int, progress: bool) -> tuple[xr.Dataset, dict, dict]:
    """One trial's accuracy sweep, facts and model state dicts (what the run folder keeps)."""
    results, facts, models = run_trial(config, data, trial, progress)
    return results, facts, {network: model.state_dict() for network, model in models.items()}


def trial_task(config_json: str, trial: int) -> tuple[xr.Dataset, dict, dict]:
    """One trial on a Dask worker: the config travels as JSON and the worker loads the data itself.

    One torch thread, whatever the worker's environment: float32 training differs in its last bits between thread
    counts, so a trial run here equals the same trial run in one process on one thread (``OMP_NUM_THREADS=1``).
    """
    import torch

    torch.set_num_threads(1)
    config = SrcExperimentConfig.model_validate_json(config_json)
    return _trial_states(config, load_dataset(config.data), trial, progress=False)


def _run_on_dask(config, execution, pending: list[int], save, progress: bool) -> None:
    """Run the ``pending`` trials on Dask, each saved by ``save`` as it finishes; the failures are raised together
    after the others are kept."""
    from dask.distributed import as_completed

    from bio_sleep.execution import dask_client

    failed = []
    with dask_client(execution) as client:
        futures = {client.submit(trial_task, config.model_dump_json(), trial, pure=False): trial for trial in pending}
        with tqdm(total=len(pending), desc=f"{config.name} trials on Dask", unit="trial", disable=not progress) as bar:
            for future in as_completed(futures):
                trial = futures[future]
                try:
                    save(trial, *future.result())
                except Exception as error:  # a lost worker (KilledWorker) or a trial that raised
                    failed.append(f"trial {trial}: {type(error).__name__}: {error}")
                bar.update()
    if failed:
        raise BioSleepError(
            f"{len(failed)} trial(s) failed on Dask, the others are kept: {'; '.join(failed)}; fix the cause and rerun "
            "the same command to run only those (without --workers it runs in this process, with a traceback)"
        )


def run_src_experiment(config, progress: bool = True, stale: str = "refuse", execution=None) -> Path:
    """Every trial of ``config`` (skipping those already on disk), then results.nc, PNG figures and results.md.

    Each trial's models are kept as state dicts ``models/trial_<k>_<name>.pt`` (for ``bio-sleep analyse-cnn``).
    A rerun may change ``trials`` and ``output_dir``; any other change needs another folder. ``stale``: what to do
    with trials other code made (``bio_sleep.run_folder.STALE_CHOICES``). ``execution``: an ExecutionConfig whose
    Dask cluster runs the missing trials side by side (see ``trial_task``); None runs them in this process.
    """
    root = Path(config.output_dir) / config.name
    identity = result_identity(config, exclude={"trials"})
    with RunFolder(root, identity, "config", stale=stale) as folder:
        folder.write_text("config.toml", tomli_w.dumps(config.model_dump(exclude_none=True)))
        trials = {}
        for trial in range(config.trials):
            results = folder.reuse(f"trials/trial_{trial:02d}.nc", load_netcdf, trial_check)
            if results is not None:
                trials[trial] = results

        def save(trial: int, results: xr.Dataset, facts: dict, states: dict) -> None:
            for network, state in states.items():
                folder.write_torch(f"models/trial_{trial:02d}_{network}.pt", state)
            results.attrs.update({k: json.dumps(v) for k, v in facts.items()})
            folder.write_netcdf(f"trials/trial_{trial:02d}.nc", results)
            trials[trial] = results

        pending = [trial for trial in range(config.trials) if trial not in trials]
        if pending and execution is not None and (execution.workers > 1 or execution.scheduler):
            _run_on_dask(config, execution, pending, save, progress)
        elif pending:
            data = load_dataset(config.data)
            for trial in tqdm(pending, desc=f"{config.name} trials", unit="trial", disable=not progress):
                save(trial, *_trial_states(config, data, trial, progress))
        combined = xr.concat([trials[k] for k in sorted(trials)], dim="trial", combine_attrs="drop")
        combined.attrs.update(
            name=config.name,
            dataset=config.data.dataset,
            timings=json.dumps([dict(trials[k].attrs) for k in sorted(trials)], default=lambda v: v.item()),
        )
        folder.write_netcdf("results.nc", combined)
        folder.write("figure2.png", lambda p: plot_figure2(combined, p))
        folder.write("figure3.png", lambda p: plot_figure3(combined, p))
        folder.write_text("results.md", markdown_table(combined, config.data.dataset))
    return root
