"""Run an SRC reproduction over its trials into one output folder; finished trials survive interruption."""
from __future__ import annotations

import json
import tomllib
from pathlib import Path

import tomli_w
import torch
import xarray as xr
from tqdm.auto import tqdm

from bio_sleep.data.dataset import load_dataset
from bio_sleep.errors import BioSleepError
from bio_sleep.src.report import markdown_table, plot_figure2, plot_figure3
from bio_sleep.src.trial import run_trial


def load_data(config):
    """MNIST / Fashion-MNIST / npz through the core loader; CIFAR-10 through the image-folder loader."""
    if config.dataset == "cifar10":
        from bio_sleep.data.image_folder import load_cifar10

        return load_cifar10(config.root).subset(config.train_samples, config.test_samples)
    return load_dataset(config)


def _refuse_other_config(folder: Path, config_toml: str) -> None:
    """Finished trials are reused, so a folder written by another config (other than in trials or output_dir,
    which a resumed run may change) is refused instead of mixing its trials with new ones."""
    written = folder / "config.toml"
    if not written.is_file():
        return
    ignored = {"trials", "output_dir"}
    before = {k: v for k, v in tomllib.loads(written.read_text()).items() if k not in ignored}
    now = {k: v for k, v in tomllib.loads(config_toml).items() if k not in ignored}
    if before != now:
        changed = sorted(k for k in before.keys() | now.keys() if before.get(k) != now.get(k))
        raise BioSleepError(f"{folder} holds trials of a different config (sections differing: {', '.join(changed)}), "
                            f"which this run would reuse; choose another name or output_dir, or delete that folder")


def run_src_experiment(config, progress: bool = True) -> Path:
    """Every trial of ``config`` (skipping those already on disk), then results.nc, PNG figures and results.md.

    Each trial's models are kept as state dicts ``models/trial_<k>_<name>.pt`` (for ``bio-sleep analyse-cnn``).
    """
    folder = Path(config.output_dir) / config.name
    config_toml = tomli_w.dumps(config.model_dump(exclude_none=True))
    _refuse_other_config(folder, config_toml)
    (folder / "trials").mkdir(parents=True, exist_ok=True)
    (folder / "models").mkdir(exist_ok=True)
    (folder / "config.toml").write_text(config_toml)
    data = load_data(config.data)
    for trial in tqdm(range(config.trials), desc=f"{config.name} trials", disable=not progress):
        path = folder / "trials" / f"trial_{trial:02d}.nc"
        if path.exists():
            continue
        results, facts, models = run_trial(config, data, trial, progress)
        for name, model in models.items():
            torch.save(model.state_dict(), folder / "models" / f"trial_{trial:02d}_{name}.pt")
        results.attrs.update({k: json.dumps(v) for k, v in facts.items()})
        results.to_netcdf(path.with_suffix(".partial.nc"))
        path.with_suffix(".partial.nc").replace(path)
    trials = [xr.load_dataset(p) for p in sorted((folder / "trials").glob("trial_??.nc"))]
    combined = xr.concat(trials, dim="trial", combine_attrs="drop")
    combined.attrs.update(name=config.name, dataset=config.data.dataset,
                          timings=json.dumps([dict(t.attrs) for t in trials], default=lambda v: v.item()))
    combined.to_netcdf(folder / "results.nc")
    plot_figure2(combined, folder / "figure2.png")
    plot_figure3(combined, folder / "figure3.png")
    (folder / "results.md").write_text(markdown_table(combined, config.data.dataset))
    return folder
