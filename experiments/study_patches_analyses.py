"""ICLR 2020 Figures 6-7 on Patches, plus every spike-recording view of the sleep that produced them.

    python experiments/study_patches_analyses.py [experiment.toml] --out runs/patches_analyses

Trains the control network of the config, sleeps it (recording all spikes),
and writes into --out: recording.nc, weights.nc, the recording views
(bio_sleep.analysis.analyse_recording), patches_weights.png (Fig. 6),
weight_spread.png + weight_spread.csv (Fig. 7), class-correlation
differences of the output layer on clean / noisy / blurred test inputs
(Figs. 13-15 style) and the config used.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import torch

from bio_sleep.analysis import analyse_recording, weights_dataset
from bio_sleep.analysis.patches_weights import plot_patches_weights, plot_weight_spread, weight_spread
from bio_sleep.analysis.representations import correlation_differences, plot_correlation_differences
from bio_sleep.config import config_to_toml, default_config, load_config, with_overrides
from bio_sleep.data import load_dataset
from bio_sleep.data.patches import patch_images
from bio_sleep.evaluation import distort
from bio_sleep.models import accuracy, build_fc, train
from bio_sleep.sleep import sleep_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", nargs="?", help="experiment TOML (default: the embedded Patches config)")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    config = load_config(args.config) if args.config else default_config()
    config = with_overrides(config, {"sleep": {"record_spike_trains": True}})
    if config.data.dataset != "patches" or len(config.model.widths) != 2:
        raise SystemExit("this reproduction needs the Patches dataset and a single weight layer")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.toml").write_text(config_to_toml(config))
    data = load_dataset(config.data)
    torch.manual_seed(config.seed)
    control = build_fc(config.model.widths, config.model.dropout, config.model.output, config.model.init, config.model.init_range)
    t = config.training
    train(control, data.x_train, data.y_train, epochs=t.epochs, learning_rate=t.learning_rate, momentum=t.momentum,
          batch_size=t.batch_size, loss=t.loss, n_classes=data.n_classes, seed=config.seed)
    result = sleep_model(control, data.x_train, config.sleep, seed=config.seed, image_shape=data.image_shape)
    print(result.recording.summary())
    recording = result.recording.to_dataset(attrs={"config": config_to_toml(config)})
    recording.to_netcdf(out / "recording.nc")
    weights = weights_dataset(result.before, result.after)
    weights.to_netcdf(out / "weights.nc")
    analyse_recording(recording, out, weights_data=weights, image_shape=data.image_shape)
    models = {"control": control, "sleep": result.model}
    prototypes = patch_images(0)
    plot_patches_weights(models, prototypes, out / "patches_weights.png")
    spread = weight_spread(models, prototypes)
    spread.to_dataframe().to_csv(out / "weight_spread.csv")
    plot_weight_spread(spread, out / "weight_spread.png")
    inputs = {"clean": data.x_test, "noisy": distort(data.x_test, "gaussian_noise", 0.3, seed=config.seed, image_shape=data.image_shape),
              "blurred": distort(data.x_test, "gaussian_blur", 1.0, seed=config.seed, image_shape=data.image_shape)}
    correlations = correlation_differences(models, "control", inputs, data.y_test, data.n_classes)
    correlations.to_netcdf(out / "class_correlations.nc")
    for condition in inputs:
        plot_correlation_differences(correlations, condition, out / f"correlation_difference_{condition}.png")
    for name, model in models.items():
        print(f"{name}: clean accuracy {accuracy(model, data.x_test, data.y_test):.3f}, "
              f"noisy {accuracy(model, inputs['noisy'], data.y_test):.3f}, weight spread {float(spread.sel(network=name).mean()):.4f}")


if __name__ == "__main__":
    main()
