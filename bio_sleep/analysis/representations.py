"""Hidden-layer representations before and after sleep (ICLR 2020, Figures 13-15 and 17).

Figures 13-15: for every pair of classes (a, b), the mean Pearson correlation
between the activation vectors of a layer for samples of a and samples of b
(same-sample pairs left out on the diagonal), and its difference to control.
Figure 17: the top-k most active neurons of a layer for each class, and their
mean activation normalised by the network's maximum, before vs after sleep.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import xarray as xr
from torch import nn

from bio_sleep.errors import BioSleepError
from bio_sleep.plotting import DPI, model_name, save_figure


@torch.no_grad()
def layer_activations(model: nn.Module, x: torch.Tensor) -> list[np.ndarray]:
    """Output of every ReLU of ``model`` (and of the model itself if it does not end in one), per sample."""
    captured = []
    hooks = [
        module.register_forward_hook(lambda _m, _i, out: captured.append(out.flatten(1).double().numpy()))
        for module in model.modules()
        if isinstance(module, nn.ReLU)
    ]
    try:
        model.eval()
        output = model(x).flatten(1).double().numpy()
    finally:
        for hook in hooks:
            hook.remove()
    if not captured or not np.array_equal(captured[-1], output):
        captured.append(output)
    return captured


def _per_class(y: torch.Tensor, n_classes: int, max_per_class: int) -> list[np.ndarray]:
    y = np.asarray(y)
    groups = [np.flatnonzero(y == c)[:max_per_class] for c in range(n_classes)]
    if any(len(g) < 2 for g in groups):
        raise BioSleepError(f"every class needs at least 2 samples, got {[len(g) for g in groups]}; pass more samples")
    return groups


def class_correlations(model: nn.Module, x, y, n_classes: int, max_per_class: int = 100) -> xr.DataArray:
    """Mean activation correlation between samples of class a and class b, per layer: (layer, class_a, class_b)."""
    groups = _per_class(y, n_classes, max_per_class)
    order = np.concatenate(groups)
    bounds = np.cumsum([0] + [len(g) for g in groups])
    tables = []
    for activations in layer_activations(model, x[torch.as_tensor(order)]):
        centred = activations - activations.mean(axis=1, keepdims=True)
        norms = np.linalg.norm(centred, axis=1, keepdims=True)
        z = np.divide(centred, norms, out=np.zeros_like(centred), where=norms > 0)  # silent samples: correlation 0
        corr = z @ z.T
        table = np.empty((n_classes, n_classes))
        for a in range(n_classes):
            for b in range(n_classes):
                block = corr[bounds[a] : bounds[a + 1], bounds[b] : bounds[b + 1]]
                table[a, b] = (block.sum() - np.trace(block)) / (block.size - len(block)) if a == b else block.mean()
        tables.append(table)
    return xr.DataArray(
        np.stack(tables),
        dims=("layer", "class_a", "class_b"),
        coords={
            "layer": np.arange(1, len(tables) + 1),
            "class_a": np.arange(n_classes),
            "class_b": np.arange(n_classes),
        },
        name="class_correlation",
    )


def correlation_differences(
    models: dict, control: str, inputs: dict, y, n_classes: int, max_per_class: int = 100
) -> xr.Dataset:
    """Class correlations of each network on each input condition, and their difference to ``control``."""
    if control not in models:
        raise BioSleepError(f"control '{control}' is not among the networks {list(models)}")
    correlations = xr.concat(
        [
            xr.concat(
                [class_correlations(m, x, y, n_classes, max_per_class) for m in models.values()],
                dim=xr.DataArray(list(models), dims="network"),
            )
            for x in inputs.values()
        ],
        dim=xr.DataArray(list(inputs), dims="condition"),
    )
    return xr.Dataset(
        {"class_correlation": correlations, "difference_to_control": correlations - correlations.sel(network=control)},
        attrs={"control": control},
    )


def plot_correlation_differences(dataset: xr.Dataset, condition: str, path) -> Path:
    """Figures 13-15: one panel per (layer, network other than control) for one input condition."""
    import matplotlib.pyplot as plt

    data = dataset["difference_to_control"].sel(condition=condition)
    networks = [n for n in data["network"].values if n != dataset.attrs["control"]]
    layers = data["layer"].values
    limit = float(np.abs(data.sel(network=networks)).max()) or 1.0
    fig, axes = plt.subplots(
        len(layers),
        len(networks),
        figsize=(3.0 * len(networks) + 1.5, 2.8 * len(layers) + 0.6),
        squeeze=False,
        layout="constrained",
    )
    for r, layer in enumerate(layers):
        for c, network in enumerate(networks):
            image = axes[r, c].imshow(
                data.sel(network=network, layer=layer).values, cmap="RdBu_r", vmin=-limit, vmax=limit
            )
            axes[r, c].set_title(
                f"{model_name(network)} - {model_name(dataset.attrs['control'])}\n{_layer_title(layer, layers[-1])}",
                fontsize=7,
            )
            classes = range(data.sizes["class_a"])
            axes[r, c].set(xlabel="class", ylabel="class", xticks=classes, yticks=classes)
    fig.colorbar(image, ax=axes.ravel().tolist(), shrink=0.8, label="difference in class correlation")
    fig.suptitle(f"class correlation difference ({condition} inputs)")
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return Path(path)


def _layer_title(layer: int, last: int) -> str:
    """Layer ``layer`` (1-based, after the input) named as here and as the paper counts (the input is its layer 1)."""
    name = "output layer" if layer == last else f"hidden layer {layer}"
    return f"{name} (paper's layer {layer + 1})"


def digit_specific_activations(
    before: nn.Module, after: nn.Module, x, y, n_classes: int, layer: int = 1, top_k: int = 100
) -> xr.DataArray:
    """Figure 17: per class, the mean activation of the ``top_k`` most active neurons of ``layer`` (1-based),
    chosen in ``before``, normalised by each network's maximum activation in that layer; (network, class)."""
    groups = _per_class(y, n_classes, len(y))
    values = []
    activations = {
        name: layer_activations(model, x)[layer - 1] for name, model in (("before", before), ("after", after))
    }
    if top_k > activations["before"].shape[1]:
        raise BioSleepError(f"top_k = {top_k} exceeds the {activations['before'].shape[1]} neurons of layer {layer}")
    chosen = [np.argsort(-activations["before"][g].mean(axis=0))[:top_k] for g in groups]
    for name in ("before", "after"):
        peak = activations[name].max() or 1.0
        values.append([activations[name][g][:, neurons].mean() / peak for g, neurons in zip(groups, chosen)])
    return xr.DataArray(
        np.array(values),
        dims=("network", "class"),
        coords={"network": ["before", "after"], "class": np.arange(n_classes)},
        name="normalised_activation",
        attrs={"layer": layer, "top_k": top_k},
    )


def plot_digit_specific(values: xr.DataArray, path) -> Path:
    import matplotlib.pyplot as plt

    classes = values["class"].values
    fig, ax = plt.subplots(figsize=(7, 3.5))
    for k, network in enumerate(values["network"].values):
        ax.bar(classes + (k - 0.5) * 0.4, values.sel(network=network).values, width=0.4, label=f"{network} sleep")
    ax.set(
        xlabel="class",
        ylabel=(
            "mean spike count / layer maximum"
            if values.name == "normalised_spike_count"
            else "mean activation / layer maximum"
        ),
        xticks=classes,
        title=f"top-{values.attrs['top_k']} class-specific neurons of hidden layer {values.attrs['layer']}",
    )
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return save_figure(fig, path)
