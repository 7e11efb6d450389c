"""The CNN paper's analyses of saved models, as files: spatial gradients (Tables III-IV) and attention (Table VI).

Models are state dicts (``torch.save(model.state_dict(), path)``, as ``bio-sleep
src`` keeps them in ``models/``); the architecture comes from the config they
were trained with. The first model is the reference the others are compared
to (e.g. the baseline).
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import xarray as xr
from torch import nn

from bio_sleep.analysis import attention, conv_filters
from bio_sleep.config import config_from_dict, read_toml
from bio_sleep.errors import BioSleepError
from bio_sleep.models import build_model, experiment_kind
from bio_sleep.netcdf import write_netcdf
from bio_sleep.run_folder import output_folder


def read_architecture(path):
    """The config at ``path``: an SRC config (``[model] layers``, a CNN) or an experiment config (a FC network)."""
    from bio_sleep.src.config import src_config_from_dict

    values = read_toml(path, "experiments/src_mnist_figure2.toml")
    is_cnn = experiment_kind(values) == "cnn"
    return src_config_from_dict(values, str(path)) if is_cnn else config_from_dict(values, str(path))


def load_model(name: str, path, config, config_path) -> nn.Module:
    """The state dict at ``path`` loaded into the config's architecture; it must have conv layers."""
    path = Path(path)
    if not path.is_file():
        raise BioSleepError(f"model '{name}': {path} does not exist")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, EOFError, pickle.UnpicklingError) as error:
        raise BioSleepError(
            f"model '{name}': {path} is not a saved state dict ({type(error).__name__}); "
            "save models with torch.save(model.state_dict(), path)"
        ) from None
    model = build_model(config)
    try:
        model.load_state_dict(state)
    except (RuntimeError, TypeError, AttributeError) as error:
        detail = " ".join(str(error).split())[:400]
        raise BioSleepError(
            f"model '{name}': {path} does not fit the network of {config_path} ({detail}); "
            "give the config the model was trained with (--config)"
        ) from None
    if experiment_kind(config) != "cnn":
        raise BioSleepError(
            f"model '{name}': the network of {config_path} has no conv layer; the CNN analyses need "
            "a CNN config with [model] layers, e.g. the config.toml of a bio-sleep src run"
        )
    return model.eval()


def gradient_dataset(models: dict[str, nn.Module]) -> xr.Dataset:
    """Per model and conv layer: the fitted Gaussian (Table III) and the KL divergence from the first model
    (Table IV)."""
    reference = next(iter(models.values()))
    per_model = [
        xr.merge([conv_filters.gradient_statistics(model), conv_filters.gradient_kl(reference, model)])
        for model in models.values()
    ]
    dataset = xr.concat(per_model, dim=pd.Index(list(models), name="model"), combine_attrs="drop")
    dataset.coords["conv"] = ("layer", [f"C{k + 1}" for k in range(dataset.sizes["layer"])])
    dataset.attrs.update(
        reference=next(iter(models)),
        kl="KL(reference || model) of the spatial-gradient values",
        fit="scipy.stats.norm.fit (maximum likelihood)",
    )
    return dataset


def attention_table(
    models: dict[str, nn.Module], x: torch.Tensor, input_shape, sweeps: dict[str, list[float]], seed: int = 0
) -> tuple[pd.DataFrame, dict[str, torch.Tensor]]:
    """Attention overlap per model on clean ``x`` and each distortion level (scored against the clean mask).

    Grad-CAM on each model's last conv layer for its predicted class. Returns one row per model and condition
    plus a row ``all`` per model over every condition (Table VI), and each model's maps on the clean images.
    """
    from bio_sleep.evaluation.distortions import distort

    clean = x.reshape(len(x), *input_shape)
    conditions = {"clean": x} | {
        f"{name}={level:g}": distort(x, name, level, seed=seed, image_shape=tuple(input_shape))
        for name, levels in sweeps.items()
        for level in levels
        if level > 0
    }
    rows, clean_maps = [], {}
    for name, model in models.items():
        last_conv = [m for m in model.modules() if isinstance(m, nn.Conv2d)][-1]
        images_in = nn.Sequential(nn.Flatten(), model)  # the models take flattened images
        pooled = []
        for condition, inputs in conditions.items():
            maps = attention.attention_maps(images_in, last_conv, inputs.reshape(clean.shape))
            overlap = attention.attention_overlap(maps, clean)
            clean_maps.setdefault(name, maps)
            pooled.append(overlap)
            rows.append((name, condition, overlap.mean(), overlap.std(), len(overlap)))
        pooled = np.concatenate(pooled)
        rows.append((name, "all", pooled.mean(), pooled.std(), len(pooled)))
    table = pd.DataFrame(rows, columns=["model", "condition", "overlap_mean", "overlap_sd", "samples"])
    return table, clean_maps


def attention_title(models: dict[str, nn.Module]) -> str:
    """What the attention figure shows: which conv layer Grad-CAM reads, for which class, on which images."""
    layers = conv_filters.conv_layers(next(iter(models.values())))
    last = conv_filters.conv_title(len(layers), *list(layers.items())[-1])
    return f"Grad-CAM of the predicted class on {last}, clean test images"


def analyse_cnn(
    models: dict[str, nn.Module],
    out_dir,
    *,
    images: torch.Tensor | None = None,
    input_shape=None,
    sweeps: dict[str, list[float]] | None = None,
    seed: int = 0,
) -> list[Path]:
    """Write the gradient tables and plot, and with ``images`` (flattened, of ``input_shape``) the attention ones."""
    out = Path(out_dir)
    output_folder(out)
    gradients = gradient_dataset(models)
    write_netcdf(gradients, out / "gradient_statistics.nc")
    table = gradients.to_dataframe().reset_index()
    table[["model", "layer", "conv", "gradient_mean", "gradient_variance"]].to_csv(
        out / "gradient_statistics.csv", index=False
    )
    written = [out / "gradient_statistics.csv", out / "gradient_statistics.nc"]
    if len(models) > 1:
        kl = table[table["model"] != gradients.attrs["reference"]].rename(columns={"model": "compared"})
        kl.insert(0, "reference", gradients.attrs["reference"])
        kl[["reference", "compared", "layer", "conv", "kl_fitted_gaussians", "kl_histograms"]].to_csv(
            out / "gradient_kl.csv", index=False
        )
        written.append(out / "gradient_kl.csv")
    written.append(conv_filters.plot_gradient_distributions(models, out / "gradient_distributions.png"))
    if images is not None:
        overlap, maps = attention_table(models, images, input_shape, sweeps or {}, seed)
        overlap.to_csv(out / "attention_overlap.csv", index=False)
        clean = images.reshape(len(images), *input_shape)
        written += [
            out / "attention_overlap.csv",
            attention.plot_attention(clean, maps, out / "attention.png", title=attention_title(models)),
        ]
    return written
