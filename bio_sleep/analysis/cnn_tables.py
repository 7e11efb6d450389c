"""Tables III, IV and VI of the CNN paper over every trial of a ``bio-sleep src`` run folder.

Per trial, the models the run saved (``models/trial_<k>_<name>.pt``) are analysed as in
:mod:`bio_sleep.analysis.cnn_report`; the per-trial values go into one netCDF file (``cnn_analyses.nc``: trial ×
model × conv layer, trial × reference × model × layer for the KL divergences, trial × model × condition for the
attention overlap) and ``tables.md`` puts their mean ± sd [95 % t-interval] beside the paper's values.
"""

from __future__ import annotations

import re
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from tqdm.auto import tqdm

from bio_sleep.analysis import conv_filters
from bio_sleep.analysis.attention import plot_attention
from bio_sleep.analysis.cnn_report import attention_table, attention_title
from bio_sleep.analysis.conv_filters import plot_gradient_distributions
from bio_sleep.errors import BioSleepError
from bio_sleep.plotting import MODEL_NAMES, model_name
from bio_sleep.run_folder import output_folder, write_atomic
from bio_sleep.statistics import NO_INTERVAL, summarise

MODEL_FILE = re.compile(r"trial_(\d+)_(\w+)\.pt")

# Table III (fitted spatial-gradient distribution per conv layer; the paper calls the value "mean standard
# deviation of spatial gradient variance", without saying whether it is σ or σ²), Table IV (KL divergence of the
# fitted distributions, P || Q as (reference, model)) and Table VI (attention overlap over every condition).
PAPER_TABLE3 = {
    "mnist": {"baseline": [7.21e-2, 1.06e-2], "src": [1.47e-1, 4.36e-2], "grad_exp": [2.72e-1, 4.18e-2]},
    "cifar10": {"baseline": [1.48e-1, 9.75e-3], "src": [1.71e-1, 1.04e-2], "grad_exp": [1.83e-1, 1.03e-2]},
}
PAPER_TABLE4 = {
    "mnist": {("baseline", "src"): [1.4984e-1, 3.0821e-1], ("grad_exp", "src"): [3.1373e-2, 7.6575e-3]},
    "cifar10": {("baseline", "src"): [6.4440e-3, 8.7511e-4], ("grad_exp", "src"): [2.8431e-4, 2.5147e-5]},
}
PAPER_TABLE6 = {"baseline": 0.145, "src": 0.229, "src_fff": 0.193, "grad_exp": 0.146, "grad_exp_fff": 0.150}


def trial_models(run: Path) -> dict[int, dict[str, Path]]:
    """The saved models of a run folder by trial, baseline first, or a BioSleepError naming what is missing."""
    files = sorted((run / "models").glob("trial_*.pt")) if (run / "models").is_dir() else []
    trials: dict[int, dict[str, Path]] = {}
    for path in files:
        if match := MODEL_FILE.fullmatch(path.name):
            trials.setdefault(int(match[1]), {})[match[2]] = path
    if not trials:
        raise BioSleepError(
            f"{run} holds no models/trial_<k>_<name>.pt: give the folder a bio-sleep src run wrote (it keeps each "
            "trial's models there), or name the models with --model"
        )
    lacking = sorted(k for k, models in trials.items() if "baseline" not in models)
    if lacking:
        raise BioSleepError(f"trials {lacking} of {run} have no baseline model; rerun bio-sleep src to finish them")
    kinds = {k: sorted(models) for k, models in trials.items()}
    if len({tuple(names) for names in kinds.values()}) > 1:
        raise BioSleepError(
            f"the trials of {run} saved different models ({kinds}); every trial needs the same ones: rerun "
            "bio-sleep src to finish the run"
        )
    return {k: {n: models[n] for n in sorted(models, key=_model_order)} for k, models in trials.items()}


def _model_order(name: str) -> tuple[int, str]:
    """The order of the CNN paper's figures: baseline, SRC (+ FFF), Gradient Expansion (+ FFF), fine-tuned."""
    known = list(MODEL_NAMES)
    return (known.index(name) if name in known else len(known), name)


def trial_dataset(models: dict, images, input_shape, sweeps: dict, seed: int) -> tuple[xr.Dataset, dict]:
    """One trial's gradient statistics, KL divergences between every pair of models, and attention overlap;
    with the Grad-CAM maps of the clean images per model (empty without ``images``)."""
    names, maps = list(models), {}
    per_model = xr.concat([conv_filters.gradient_statistics(m) for m in models.values()], pd.Index(names, name="model"))
    kl = xr.concat(
        [
            xr.concat([conv_filters.gradient_kl(models[p], models[q]) for q in names], pd.Index(names, name="model"))
            for p in names
        ],
        pd.Index(names, name="reference"),
    )
    dataset = xr.merge([per_model, kl], combine_attrs="drop")
    dataset["gradient_sd"] = np.sqrt(dataset.gradient_variance)
    if images is not None:
        table, maps = attention_table(models, images, input_shape, sweeps, seed)
        overlap = table.set_index(["model", "condition"]).overlap_mean.to_xarray()
        dataset["attention_overlap"] = overlap.sel(model=names)
    return dataset, maps


def analyse_run(
    trials: dict, load, out, *, images, input_shape, sweeps: dict, config, run, history: str, progress: bool = True
) -> list[Path]:
    """Every trial's models (``load(paths)`` gives them): ``cnn_analyses.nc`` with the per-trial values,
    ``tables.md`` beside the paper's, and the first trial's gradient and attention figures."""
    out = output_folder(out)
    per_trial, written = [], []
    for trial, paths in tqdm(trials.items(), desc="trials", disable=not progress):
        models = load(paths)
        seed = config.seed + trial  # the seed bio-sleep src gave this trial (its distortions)
        dataset, maps = trial_dataset(models, images, input_shape, sweeps, seed)
        per_trial.append(dataset.expand_dims(trial=[trial]))
        if trial == min(trials):  # figures of the first trial only: the tables hold every trial
            written.append(out / f"trial_{trial:02d}_gradient_distributions.png")
            write_atomic(written[-1], partial(plot_gradient_distributions, models))
            if maps:
                clean, title = images.reshape(len(images), *input_shape), f"trial {trial}: {attention_title(models)}"
                written.append(out / f"trial_{trial:02d}_attention.png")
                write_atomic(written[-1], partial(plot_attention, clean, maps, title=title))
    combined = describe(xr.concat(per_trial, "trial"), history)
    combined.attrs["run"] = str(run)
    write_atomic(out / "cnn_analyses.nc", combined.to_netcdf)
    write_atomic(out / "tables.md", lambda p: p.write_text(markdown(combined, config.data.dataset)))
    return [out / "cnn_analyses.nc", out / "tables.md", *written]


def describe(dataset: xr.Dataset, history: str) -> xr.Dataset:
    dataset.coords["conv"] = ("layer", [f"C{k + 1}" for k in range(dataset.sizes["layer"])])
    dataset.attrs.update(
        Conventions="CF-1.10",
        title="CNN paper Tables III, IV, VI per trial",
        fit="scipy.stats.norm.fit (maximum likelihood) of every spatial-gradient value of a conv layer",
        kl="KL(reference || model) of the spatial-gradient values: fitted Gaussians and shared-bin histograms",
        attention="cosine similarity of Grad-CAM (last conv layer, predicted class) with the clean digit's mask, "
        "mean over samples; condition 'all' pools every condition",
        history=history,
    )
    for name, text in {
        "gradient_mean": "mean of the fitted Gaussian",
        "gradient_variance": "variance of the fitted Gaussian",
        "gradient_sd": "standard deviation of the fitted Gaussian",
        "kl_fitted_gaussians": "KL(reference || model), fitted Gaussians",
        "kl_histograms": "KL(reference || model), histograms on shared bins",
        "attention_overlap": "Grad-CAM attention overlap with the clean input's non-zero pixels",
    }.items():
        if name in dataset:
            dataset[name].attrs["long_name"] = text
    return dataset


def _cell(values) -> str:
    summary = summarise(values)
    if summary.n < 2:
        return f"{summary.mean:.3g}"
    return f"{summary.mean:.3g} ± {summary.sd:.2g} [{summary.low:.3g}, {summary.high:.3g}]"


def markdown(dataset: xr.Dataset, dataset_name: str) -> str:
    """Tables III, IV and VI: the paper's value beside the measured mean ± sd [95 % t-interval] over trials."""
    trials = dataset.sizes["trial"]
    how = "mean ± sd [95 % t-interval] over trials" if trials > 1 else NO_INTERVAL
    lines = [
        f"# CNN paper Tables III, IV, VI: {trials} trial(s) of {dataset.attrs.get('run', 'the run')}",
        "",
        f"Measured: {how}. Paper values for `{dataset_name}`"
        + ("" if dataset_name in PAPER_TABLE3 else " are not given (the paper has MNIST and CIFAR-10)")
        + ". Conv layers: "
        + ", ".join(f"{c} = module `{layer}`" for c, layer in zip(dataset.conv.values, dataset.layer.values))
        + ".",
        "",
        "## Table III: spatial-gradient distribution per conv layer (fitted Gaussian)",
        "",
        "The paper's caption says 'mean standard deviation of spatial gradient variance'; both σ and σ² are shown.",
        "",
        "| model | layer | paper | measured σ | measured σ² |",
        "|---|---|---|---|---|",
    ]
    paper3 = PAPER_TABLE3.get(dataset_name, {})
    for model in dataset.model.values:
        for k, conv in enumerate(dataset.conv.values):
            cell = dataset.isel(layer=k).sel(model=model)
            paper = f"{paper3[model][k]:.3g}" if model in paper3 else "–"
            lines.append(
                f"| {model_name(model)} | {conv} | {paper} | {_cell(cell.gradient_sd)} | "
                f"{_cell(cell.gradient_variance)} |"
            )
    lines += [
        "",
        "## Table IV: KL divergence of the spatial-gradient distributions, KL(P || Q)",
        "",
        "| P | Q | layer | paper | measured, fitted Gaussians | measured, histograms |",
        "|---|---|---|---|---|---|",
    ]
    models = set(dataset.model.values)
    for (p, q), paper in PAPER_TABLE4.get(dataset_name, PAPER_TABLE4["mnist"]).items():
        if not {p, q} <= models:
            lines.append(f"| {model_name(p)} | {model_name(q)} | – | – | not in this run | |")
            continue
        for k, conv in enumerate(dataset.conv.values):
            cell = dataset.isel(layer=k).sel(reference=p, model=q)
            value = f"{paper[k]:.3g}" if dataset_name in PAPER_TABLE4 else "–"
            lines.append(
                f"| {model_name(p)} | {model_name(q)} | {conv} | {value} | {_cell(cell.kl_fitted_gaussians)} | "
                f"{_cell(cell.kl_histograms)} |"
            )
    lines += ["", "## Table VI: Grad-CAM attention overlap (all conditions)", ""]
    if "attention_overlap" not in dataset:
        lines.append("not measured (--samples 0)")
    else:
        lines += ["| model | paper (MNIST) | measured |", "|---|---|---|"]
        for model in dataset.model.values:
            paper = f"{PAPER_TABLE6[model]:.3f}" if model in PAPER_TABLE6 and dataset_name == "mnist" else "–"
            overlap = dataset.attention_overlap.sel(model=model, condition="all")
            lines.append(f"| {model_name(model)} | {paper} | {_cell(overlap)} |")
    return "\n".join(lines) + "\n"
