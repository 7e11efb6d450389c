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


def plot_gradient_distributions(models: dict, path, bins: int = 80) -> Path:
    """Histogram of spatial-gradient values with the fitted Gaussian, one panel per conv layer."""
    import matplotlib.pyplot as plt

    names = list(conv_layers(next(iter(models.values()))))
    fig, axes = plt.subplots(1, len(names), figsize=(4.5 * len(names), 3.2), squeeze=False)
    for ordinal, (name, ax) in enumerate(zip(names, axes[0]), start=1):
        for label, model in models.items():
            values = spatial_gradients(conv_layers(model)[name])
            mean, std = stats.norm.fit(values)
            _, edges, patches = ax.hist(
                values, bins=bins, density=True, alpha=0.35, label=f"{model_name(label)} (variance {std**2:.2e})"
            )
            grid = np.linspace(edges[0], edges[-1], 200)
            ax.plot(grid, stats.norm.pdf(grid, mean, std), color=patches[0].get_facecolor(), alpha=1.0)
        ax.set(
            title=f"conv layer {ordinal} (module '{name}')", xlabel="spatial gradient of the kernels", ylabel="density"
        )
        ax.legend(fontsize=7)
    return save_figure(fig, path)
