"""The ICLR 2020 paper's analyses of a ``bio-sleep run`` folder (control and slept network).

- Figures 13-15: per-class correlation of hidden-layer activations, slept minus
  control, on clean, noisy and blurred test inputs.
- Figure 17: activations of each class's most active neurons in the ANN,
  before and after sleep, per hidden layer.
- Figure 16: spike counts of the same kind of neurons in the spiking network
  (the sleep's conversion, plasticity off), before and after sleep.
- Figures 6-7 (Patches, one weight layer): weights by pixel role and the
  ON/OFF weight spread.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import torch
import xarray as xr
from tqdm.auto import tqdm

from bio_sleep.analysis.patches_weights import plot_patches_weights, plot_weight_spread, weight_spread
from bio_sleep.analysis.representations import (
    correlation_differences,
    digit_specific_activations,
    plot_correlation_differences,
    plot_digit_specific,
)
from bio_sleep.analysis.spiking_responses import digit_specific_spike_rates
from bio_sleep.errors import BioSleepError
from bio_sleep.netcdf import write_netcdf
from bio_sleep.run_folder import output_folder


def load_run(folder, overrides: dict | None = None):
    """(config, data, {"control": model, "sleep": model}) of a run folder written by ``bio-sleep run``; ``overrides``
    (e.g. ``{"data": {"root": ...}}``) are applied to its config as in ``bio_sleep.config.load_config``."""
    from bio_sleep.config import load_config
    from bio_sleep.data import load_dataset
    from bio_sleep.models import build_model

    folder = Path(folder)
    missing = [name for name in ("config.toml", "control.pt", "slept.pt") if not (folder / name).is_file()]
    if missing:
        raise BioSleepError(f"{folder} lacks {missing}; give the folder a finished `bio-sleep run` wrote")
    config = load_config(folder / "config.toml", overrides=overrides)
    models = {}
    for name, file in (("control", "control.pt"), ("sleep", "slept.pt")):
        model = build_model(config)
        try:
            model.load_state_dict(torch.load(folder / file, map_location="cpu", weights_only=True))
        except (RuntimeError, OSError, ValueError, EOFError, pickle.UnpicklingError) as error:
            detail = (str(error).splitlines() or [type(error).__name__])[0]
            raise BioSleepError(
                f"{folder / file} does not load into the network of {folder / 'config.toml'}: "
                f"{detail}; rerun `bio-sleep run` to write it again"
            ) from None
        models[name] = model.eval()
    return config, load_dataset(config.data), models


def spiking_networks(config, data, models: dict):
    """The spiking network the sleep started from and the same network with the slept weights."""
    from bio_sleep.converters import to_spiking_network
    from bio_sleep.models.fc import weight_layers

    sleep = config.sleep
    before = to_spiking_network(
        models["control"],
        data.x_train[: sleep.normalisation_samples],
        sleep.thresholds,
        sleep.alpha_scale,
        sleep.normalisation,
    )
    after = before.with_weights(
        tuple(layer.weight.detach().double().numpy() for layer in weight_layers(models["sleep"]))
    )
    return before, after


def analyse_run(
    config,
    data,
    models: dict,
    out,
    *,
    noise_variance: float = 0.3,
    blur_sigma: float = 1.0,
    top_k: int = 100,
    spiking_samples: int = 500,
    steps_per_image: int = 10,
    log=print,
    progress: bool = True,
) -> list[Path]:
    """Write the analyses into ``out`` (netCDF, CSV, PNG), with a bar over its stages; return the written
    paths. ``log`` gets notes such as a spiking layer that stayed silent (its normalised counts are then all 0)."""
    from bio_sleep.evaluation import distort
    from bio_sleep.sleep.run import dynamics_from

    out = Path(out)
    output_folder(out)
    written = []
    n_hidden = len(config.model.widths) - 2
    inputs = {
        "clean": data.x_test,
        "noisy": distort(data.x_test, "gaussian_noise", noise_variance, seed=config.seed, image_shape=data.image_shape),
    }
    if data.image_shape is not None:
        inputs["blurred"] = distort(
            data.x_test, "gaussian_blur", blur_sigma, seed=config.seed, image_shape=data.image_shape
        )
    patches_weights = config.data.dataset == "patches" and n_hidden == 0
    stages = 1 + 2 * n_hidden + patches_weights
    with tqdm(total=stages, desc="analyses", disable=not progress, leave=False) as bar:
        bar.set_postfix_str("class correlations")
        correlations = correlation_differences(models, "control", inputs, data.y_test, data.n_classes)
        correlations.attrs.update(noise_variance=noise_variance, blur_sigma=blur_sigma)
        write_netcdf(correlations, out / "class_correlations.nc")
        written.append(out / "class_correlations.nc")
        written += [
            plot_correlation_differences(correlations, condition, out / f"correlation_difference_{condition}.png")
            for condition in inputs
        ]
        bar.update()

        if n_hidden:
            sleep = config.sleep
            before, after = spiking_networks(config, data, models)
            scale = sleep.input_probability
            x_spiking, y_spiking = data.x_test[:spiking_samples].numpy(), data.y_test[:spiking_samples].numpy()
            ann, snn = [], []
            for layer in range(1, n_hidden + 1):
                k = min(top_k, config.model.widths[layer])
                bar.set_postfix_str(f"ANN neurons, layer {layer}")
                ann.append(
                    digit_specific_activations(
                        models["control"],
                        models["sleep"],
                        data.x_test,
                        data.y_test,
                        data.n_classes,
                        layer=layer,
                        top_k=k,
                    )
                )
                bar.update()
                bar.set_postfix_str(f"spiking network, layer {layer}")
                snn.append(
                    digit_specific_spike_rates(
                        before,
                        after,
                        dynamics_from(sleep),
                        x_spiking,
                        y_spiking,
                        data.n_classes,
                        layer=layer,
                        top_k=k,
                        steps_per_image=steps_per_image,
                        scale=scale,
                        seed=config.seed,
                    )
                )
                if not snn[-1].values.any():
                    log(
                        f"note: hidden layer {layer} of the spiking network did not spike in {steps_per_image} "
                        f"steps per image; its thresholds ({sleep.thresholds}) are too high for these inputs, so "
                        "the spike counts say nothing (try more --steps-per-image, or lower sleep thresholds)"
                    )
                written.append(plot_digit_specific(ann[-1], out / f"digit_specific_activations_layer{layer}.png"))
                written.append(plot_digit_specific(snn[-1], out / f"digit_specific_spikes_layer{layer}.png"))
                bar.update()
            table = xr.Dataset(
                {
                    "normalised_activation": xr.concat(ann, dim="layer"),
                    "normalised_spike_count": xr.concat(snn, dim="layer"),
                }
            )
            table = table.assign_coords(layer=np.arange(1, n_hidden + 1))
            table.attrs.update(top_k=top_k, spiking_samples=len(x_spiking), steps_per_image=steps_per_image)
            write_netcdf(table, out / "digit_specific.nc")
            table.to_dataframe().to_csv(out / "digit_specific.csv")
            written += [out / "digit_specific.nc", out / "digit_specific.csv"]

        if patches_weights:
            from bio_sleep.data.patches import patch_images

            bar.set_postfix_str("Patches weights")
            prototypes = patch_images(0)
            spread = weight_spread(models, prototypes)
            spread.to_dataframe().to_csv(out / "weight_spread.csv")
            written += [
                plot_patches_weights(models, prototypes, out / "patches_weights.png"),
                plot_weight_spread(spread, out / "weight_spread.png"),
                out / "weight_spread.csv",
            ]
            bar.update()
    return written
