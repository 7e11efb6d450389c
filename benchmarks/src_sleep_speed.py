"""SRC sleep speed on the CNN paper's models: cold (compile included) and warm Brian2 runs, torch reference.

    python benchmarks/src_sleep_speed.py mnist  [--train-samples 10000] [--epochs 1]
    python benchmarks/src_sleep_speed.py cifar10 --steps 100

Trains the Table I model briefly (timing depends on activity, not on accuracy),
then sleeps it with the Table II values of experiments/src_<dataset>_figure2.toml.
Prints seconds, steps per second, spikes per layer and peak memory (this
process and, for cpp_standalone, the simulation binary).
"""

import argparse
import os
import resource
import tempfile
import time

from bio_sleep.config import SleepConfig
from bio_sleep.converters.to_spiking_cnn import cnn_to_spiking_network
from bio_sleep.sleep.input_spikes import draw_input_spikes, probability_scale
from bio_sleep.sleep.run import dynamics_from, simulate
from bio_sleep.src.config import load_src_config, src_config_from_dict
from bio_sleep.src.experiment import load_data
from bio_sleep.src.trial import train_baseline


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("dataset", choices=["mnist", "cifar10"])
    parser.add_argument("--train-samples", type=int, default=10000)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--steps", type=int, help="override Table II's sleep steps (to measure steps/s)")
    parser.add_argument("--skip-torch", action="store_true")
    args = parser.parse_args()
    values = load_src_config(f"experiments/src_{args.dataset}_figure2.toml").model_dump()
    values["data"].update(train_samples=args.train_samples, test_samples=1000)
    values["training"]["epochs"] = args.epochs
    if args.steps:
        values["sleep"]["steps"] = args.steps
    config = src_config_from_dict(values)
    data = load_data(config.data)
    start = time.perf_counter()
    model = train_baseline(config, data, seed=0, progress=False)
    print(f"trained {args.epochs} epoch(s) on {len(data.x_train)} samples in {time.perf_counter() - start:.1f} s")
    sleep = config.sleep
    start = time.perf_counter()
    network = cnn_to_spiking_network(
        model,
        data.x_train[: sleep.normalisation_samples],
        sleep.thresholds,
        sleep.alpha_scale,
        sleep.normalisation,
        data.image_shape,
    )
    print(f"conversion {time.perf_counter() - start:.2f} s; units per layer {network.sizes}")
    dynamics = dynamics_from(sleep)

    def raster(seed):
        return draw_input_spikes(
            data.x_train.numpy(),
            sleep.steps,
            probability_scale(sleep.max_rate, sleep.dt, sleep.spike_probability),
            sleep.input_mode,
            seed=seed,
        )

    os.environ["BIO_SLEEP_CACHE"] = tempfile.mkdtemp()  # an empty compile cache, so that "cold" is cold
    runs = [("brian2 cpp_standalone cold", sleep, 0), ("brian2 cpp_standalone warm (new input)", sleep, 1)]
    if not args.skip_torch:
        runs.append(("torch float64 (exact reference)", SleepConfig(**{**sleep.model_dump(), "backend": "torch"}), 0))
    for label, cfg, seed in runs:
        start = time.perf_counter()
        slept, recording, compile_seconds = simulate(network, dynamics, raster(seed), cfg, progress=False)
        total = time.perf_counter() - start
        print(
            f"{label}: {total:.2f} s total ({compile_seconds:.1f} s compile), "
            f"{sleep.steps / (total - compile_seconds):.1f} steps/s excluding compile; "
            f"spikes per layer {recording.spikes_per_step.sum(axis=1).tolist()}"
        )
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak memory: this process {own:.0f} MiB, largest child (compiler / simulation) {children:.0f} MiB")


if __name__ == "__main__":
    main()
