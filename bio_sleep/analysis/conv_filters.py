"""Spatial gradients of convolution filters and how two models' distributions differ (SRC paper, Tables III-IV).

Per Conv2d layer, the spatial gradient of every filter (d/dy and d/dx of each
kernel slice, central differences via numpy.gradient) is pooled into one set
of values, and a Gaussian is fitted to them (scipy.stats.norm.fit, maximum
likelihood). The KL divergence between two models is given for the fitted
Gaussians (closed form) and for the histograms of the values on shared bins.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr
from scipy import stats
from torch import nn

from bio_sleep.errors import BioSleepError
from bio_sleep.plotting import model_name, save_figure


def conv_layers(model: nn.Module) -> dict[str, nn.Conv2d]:
    layers = {name: m for name, m in model.named_modules() if isinstance(m, nn.Conv2d)}
    if not layers:
        raise BioSleepError("the model has no torch.nn.Conv2d layer; spatial-gradient analyses need a conv network")
    return layers


def spatial_gradients(conv: nn.Conv2d) -> np.ndarray:
    """Every spatial-gradient value (both directions) of every filter of ``conv``."""
    weights = conv.weight.detach().double().cpu().numpy()  # (out, in, kh, kw)
    if min(weights.shape[2:]) < 2:
        raise BioSleepError(
            f"a {weights.shape[2]}x{weights.shape[3]} kernel has no spatial gradient; skip 1x1 convolutions"
        )
    d_row, d_col = np.gradient(weights, axis=(2, 3))
    return np.concatenate([d_row.ravel(), d_col.ravel()])


def gradient_statistics(model: nn.Module) -> xr.Dataset:
    """Per conv layer: the fitted Gaussian's mean and variance of the spatial-gradient values."""
    names, means, variances = [], [], []
    for name, conv in conv_layers(model).items():
        mean, std = stats.norm.fit(spatial_gradients(conv))
        names.append(name)
        means.append(mean)
        variances.append(std**2)
    return xr.Dataset(
        {"gradient_mean": ("layer", means), "gradient_variance": ("layer", variances)},
        coords={"layer": names},
        attrs={"fit": "scipy.stats.norm.fit (maximum likelihood)"},
    )


def gaussian_kl(mean_p: float, var_p: float, mean_q: float, var_q: float) -> float:
    """KL(P || Q) of two univariate Gaussians."""
    return 0.5 * (np.log(var_q / var_p) + (var_p + (mean_p - mean_q) ** 2) / var_q - 1.0)


def histogram_kl(p_values: np.ndarray, q_values: np.ndarray, bins: int = 100, floor: float = 1e-10) -> float:
    """KL(P || Q) of two samples' histograms on shared bins (empty bins floored so the divergence stays finite)."""
    edges = np.histogram_bin_edges(np.concatenate([p_values, q_values]), bins=bins)
    p = np.histogram(p_values, edges)[0] + floor
    q = np.histogram(q_values, edges)[0] + floor
    return float(stats.entropy(p, q))


def gradient_kl(model_p: nn.Module, model_q: nn.Module, bins: int = 100) -> xr.Dataset:
    """KL(P || Q) per conv layer between two models of the same architecture (Table IV)."""
    layers_p, layers_q = conv_layers(model_p), conv_layers(model_q)
    if list(layers_p) != list(layers_q):
        raise BioSleepError(
            f"the models' conv layers differ ({list(layers_p)} vs {list(layers_q)}); compare versions of one network"
        )
    fitted, histogram = [], []
    for name in layers_p:
        p, q = spatial_gradients(layers_p[name]), spatial_gradients(layers_q[name])
        (mp, sp), (mq, sq) = stats.norm.fit(p), stats.norm.fit(q)
        fitted.append(gaussian_kl(mp, sp**2, mq, sq**2))
        histogram.append(histogram_kl(p, q, bins))
    return xr.Dataset(
        {"kl_fitted_gaussians": ("layer", fitted), "kl_histograms": ("layer", histogram)},
        coords={"layer": list(layers_p)},
    )


def conv_title(ordinal: int, name: str, conv: nn.Conv2d) -> str:
    """``C1: conv 1→10 channels, 3×3 (module '1')``: the paper's layer name, its shape and the model's own name."""
    kh, kw = conv.kernel_size
    return f"C{ordinal}: conv {conv.in_channels}→{conv.out_channels} channels, {kh}×{kw} (module '{name}')"


def _distinct(models: dict, layer: str) -> dict[str, list[str]]:
    """Model names grouped by identical weights of ``layer`` (FFF changes only the head: SRC + FFF = SRC here)."""
    groups: dict[str, list[str]] = {}
    for label, model in models.items():
        weight = conv_layers(model)[layer].weight
        same = next((g for g in groups if conv_layers(models[g])[layer].weight.equal(weight)), None)
        groups.setdefault(same or label, []).append(label)
    return groups


def plot_gradient_distributions(models: dict, path, bins: int = 80) -> Path:
    """Histogram of spatial-gradient values with the fitted Gaussian, one panel per conv layer.

    Models whose kernels of a layer are identical share one histogram and one legend entry."""
    import matplotlib.pyplot as plt

    layers = conv_layers(next(iter(models.values())))
    colours = dict(zip(models, plt.rcParams["axes.prop_cycle"].by_key()["color"] * len(models)))
    fig, axes = plt.subplots(1, len(layers), figsize=(5.5 * len(layers), 4.2), squeeze=False)
    for ordinal, (name, ax) in enumerate(zip(layers, axes[0]), start=1):
        for label, same in _distinct(models, name).items():
            values = spatial_gradients(conv_layers(models[label])[name])
            mean, std = stats.norm.fit(values)
            names = " = ".join(model_name(m) for m in same)
            _, edges, _ = ax.hist(values, bins=bins, density=True, alpha=0.3, color=colours[label])
            grid = np.linspace(edges[0], edges[-1], 200)
            ax.plot(grid, stats.norm.pdf(grid, mean, std), color=colours[label], label=f"{names}: σ² = {std**2:.2e}")
        ax.set(
            title=conv_title(ordinal, name, layers[name]),
            xlabel="spatial gradient of the kernel weights (per pixel)",
            ylabel="probability density",
        )
        ax.legend(fontsize=7, loc="upper left", title="fitted Gaussian", title_fontsize=7)
    fig.suptitle("Spatial gradients of the conv kernels (histograms) and the fitted Gaussians (CNN paper, Table III)")
    return save_figure(fig, path)
