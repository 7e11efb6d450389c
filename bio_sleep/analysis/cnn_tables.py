"""Tables III, IV and VI of the CNN paper over every trial of a ``bio-sleep src`` run folder.

Per finished trial of the run (``trials/trial_<k>.nc``), the models it saved (``models/trial_<k>_<name>.pt``) are
analysed as in :mod:`bio_sleep.analysis.cnn_report` into ``trials/trial_<k>.nc`` of the analysis folder (a
:class:`~bio_sleep.run_folder.RunFolder`), with the checksums of the models it came from. A rerun reuses a trial's
analysis while its models are unchanged, or when they are not on this machine (a run's models may stay where it
ran: the analyses travel, the models need not), so the tables of a run made over several machines can still cover
every trial. ``cnn_analyses.nc`` (trial × model × conv layer, trial × reference × model × layer for the KL
divergences, trial × model × condition for the attention overlap) and ``tables.md`` (mean ± sd [95 % t-interval]
beside the paper's values) are made from all of them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
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
from bio_sleep.config import result_identity
from bio_sleep.errors import BioSleepError
from bio_sleep.plotting import MODEL_NAMES, model_name
from bio_sleep.run_folder import RunFolder, load_netcdf, sha256
from bio_sleep.statistics import NO_INTERVAL, summarise

MODEL_FILE = re.compile(r"trial_(\d+)_(\w+)\.pt")
TRIAL_FILE = re.compile(r"trial_(\d+)\.nc")

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


def finished_trials(run: Path) -> list[int]:
    """The trials ``bio-sleep src`` finished in ``run`` (its ``trials/trial_<k>.nc``), or a BioSleepError."""
    trials = sorted(
        int(match[1]) for path in (run / "trials").glob("trial_*.nc") if (match := TRIAL_FILE.fullmatch(path.name))
    )
    if not trials:
        raise BioSleepError(
            f"{run} holds no finished trials (trials/trial_<k>.nc): give the folder a bio-sleep src run wrote, or "
            "name the models with --model"
        )
    return trials


def trial_models(run: Path, trials: list[int]) -> dict[int, dict[str, Path]]:
    """The saved models of ``trials`` by trial, baseline first (trials whose models are not here are left out),
    or a BioSleepError naming what is missing."""
    found: dict[int, dict[str, Path]] = {}
    for path in sorted((run / "models").glob("trial_*.pt")):
        if (match := MODEL_FILE.fullmatch(path.name)) and int(match[1]) in trials:
            found.setdefault(int(match[1]), {})[match[2]] = path
    lacking = sorted(k for k, models in found.items() if "baseline" not in models)
    if lacking:
        raise BioSleepError(f"trials {lacking} of {run} have no baseline model; rerun bio-sleep src to finish them")
    kinds = {k: sorted(models) for k, models in found.items()}
    if len({tuple(names) for names in kinds.values()}) > 1:
        raise BioSleepError(
            f"the trials of {run} saved different models ({kinds}); every trial needs the same ones: rerun "
            "bio-sleep src to finish the run"
        )
    return {k: {n: models[n] for n in sorted(models, key=_model_order)} for k, models in found.items()}


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
    run: Path,
    load: Callable[[dict], dict],
    out,
    *,
    images: Callable[[], object] | None,
    samples: int,
    config,
    history: str,
    progress: bool = True,
    stale: str = "refuse",
    skip_missing: bool = False,
) -> list[Path]:
    """Every finished trial of ``run``: its analysis, made from its models (``load(paths)`` gives them) or reused,
    then ``cnn_analyses.nc``, ``tables.md`` and the gradient and attention figures of the first trial analysed
    here. ``images()`` gives the ``samples`` Grad-CAM test images (None: no attention analysis), read only when a
    trial is analysed. A trial with neither models nor analysis is an error, or with ``skip_missing`` left out of
    the summary, which names it (``trials_left_out``)."""
    trials = finished_trials(run)
    models_here = trial_models(run, trials)
    identity = {"config": result_identity(config, exclude={"trials"}), "attention_samples": samples}
    with RunFolder(out, identity, "CNN analysis", {"run": str(run)}, stale) as folder:
        per_trial, missing, test_images = {}, [], None
        for trial in tqdm(trials, desc="trials", disable=not progress):
            name, paths = f"trials/trial_{trial:02d}.nc", models_here.get(trial)
            made_from = json.dumps({n: sha256(p) for n, p in paths.items()}, sort_keys=True) if paths else None
            kept = folder.reuse(name, load_netcdf)
            if kept is not None and made_from in (None, kept.attrs.get("made_from")):
                per_trial[trial] = kept
                continue
            if paths is None:
                missing.append(trial)
                continue
            models = load(paths)  # checks that the models fit the config's CNN before its data is read
            input_shape, sweeps = tuple(config.model.input_shape), getattr(config.evaluation, "sweeps", {})
            if test_images is None and images is not None:
                test_images = images()
            seed = config.seed + trial  # the seed bio-sleep src gave this trial (its distortions)
            dataset, maps = trial_dataset(models, test_images, input_shape, sweeps, seed)
            dataset.attrs["made_from"] = made_from
            folder.write_netcdf(name, dataset)
            per_trial[trial] = dataset
            if not folder.existing("trial_*_gradient_distributions.png"):  # figures of one trial: tables hold all
                folder.write(
                    f"trial_{trial:02d}_gradient_distributions.png", partial(plot_gradient_distributions, models)
                )
                if maps:
                    clean = test_images.reshape(len(test_images), *input_shape)
                    title = f"trial {trial}: {attention_title(models)}"
                    folder.write(f"trial_{trial:02d}_attention.png", partial(plot_attention, clean, maps, title=title))
        if missing and not (skip_missing and per_trial):
            raise BioSleepError(
                f"trials {missing} of {run} have neither their models in {run / 'models'} nor an analysis in "
                f"{folder.root / 'trials'}; run this command where their models are, with the same --out (the "
                "analyses of the other trials are kept)"
                + (", or add --skip-missing to summarise the others" if per_trial else "")
            )
        kinds = {k: list(analysis.model.values) for k, analysis in per_trial.items()}
        if len({tuple(names) for names in kinds.values()}) > 1:
            raise BioSleepError(
                f"the trials' analyses cover different models ({kinds}); every trial needs the same ones: rerun "
                "bio-sleep src to finish the run, or analyse into a new --out"
            )
        combined = describe(
            xr.concat([per_trial[k].expand_dims(trial=[k]) for k in sorted(per_trial)], "trial", combine_attrs="drop"),
            history,
        )
        combined.attrs.update(run=str(run), trials_left_out=" ".join(map(str, missing)))
        written = [
            folder.write_netcdf("cnn_analyses.nc", combined),
            folder.write_text("tables.md", markdown(combined, config.data.dataset)),
        ]
        return written + [folder.path(name) for name in folder.existing("trial_*.png")]


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
    left_out = dataset.attrs.get("trials_left_out", "").split()
    lines = [
        f"# CNN paper Tables III, IV, VI: {trials} trial(s) of {dataset.attrs.get('run', 'the run')}",
        "",
        "Trials "
        + ", ".join(str(k) for k in dataset.trial.values)
        + (f"; left out (neither their models nor an analysis were there): {', '.join(left_out)}" if left_out else "")
        + ".",
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
