"""ICLR 2020 Figures 6-7 on Patches, plus every spike-recording view of the sleep that produced them.

    python experiments/study_patches_analyses.py [experiment.toml] --out runs/patches_analyses

Trains the control network of the config, sleeps it (recording all spikes),
and writes into --out: recording.nc, weights.nc, the recording views
(bio_sleep.analysis.analyse_recording), the analyses of ``bio-sleep
analyse-run`` (patches_weights.png = Fig. 6, weight_spread.png/.csv =
Fig. 7, class-correlation differences of the output layer on clean / noisy /
blurred test inputs, Figs. 13-15 style) and the config used.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bio_sleep.analysis import analyse_recording, weights_dataset
from bio_sleep.analysis.run_report import analyse_run
from bio_sleep.config import config_to_toml, default_config, load_config, with_overrides
from bio_sleep.data import load_dataset
from bio_sleep.models import accuracy, train_control
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
    control = train_control(config, data)
    result = sleep_model(control, data.x_train, config.sleep, seed=config.seed, image_shape=data.image_shape)
    print(result.recording.summary())
    recording = result.recording.to_dataset(attrs={"config": config_to_toml(config)})
    recording.to_netcdf(out / "recording.nc")
    weights = weights_dataset(result.before, result.after)
    weights.to_netcdf(out / "weights.nc")
    analyse_recording(recording, out, weights_data=weights, image_shape=data.image_shape)
    models = {"control": control, "sleep": result.model}
    analyse_run(config, data, models, out)  # Figures 6-7 and the class-correlation differences
    for name, model in models.items():
        print(f"{name}: clean accuracy {accuracy(model, data.x_test, data.y_test):.3f}")


if __name__ == "__main__":
    main()
