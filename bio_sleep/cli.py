"""The ``bio-sleep`` command line."""
from __future__ import annotations

import argparse
import sys

from bio_sleep.analysis.cli import add_parser as add_analyse_parser
from bio_sleep.analysis.cnn_cli import add_parser as add_analyse_cnn_parser
from bio_sleep.analysis.run_cli import add_parser as add_analyse_run_parser
from bio_sleep.errors import BioSleepError
from bio_sleep.robustness.cli import add_parser as add_robustness_parser
from bio_sleep.src.cli import add_parser as add_src_parser
from bio_sleep.studies.cli import add_parser as add_study_parsers


def _run(args) -> None:
    from bio_sleep.config import default_config, load_config, with_overrides
    from bio_sleep.pipeline import run_experiment

    config = load_config(args.config) if args.config else default_config()
    overrides = {}
    if args.data_root:
        overrides["data"] = {"root": args.data_root}
    if args.output_dir:
        overrides["output_dir"] = args.output_dir
    if args.seed is not None:
        overrides["seed"] = args.seed
    if args.backend:
        overrides["sleep"] = {"backend": args.backend}
    if overrides:
        config = with_overrides(config, overrides)
    outcome = run_experiment(config, progress=not args.quiet)
    summary = outcome.summary
    print("\nclean accuracy: " + ", ".join(f"{k} {v:.4f}" for k, v in summary["accuracy_clean"].items()))
    for key, values in summary.items():
        if key.startswith("mean_accuracy_"):
            label = key.removeprefix("mean_accuracy_").replace("_", " ")
            print(f"mean accuracy over the {label} sweep: " + ", ".join(f"{k} {v:.4f}" for k, v in values.items()))
    print("timings (s): " + ", ".join(f"{k} {v:.1f}" for k, v in summary["timings"].items()))
    print(f"results, plot, models and config in {outcome.folder}")


def load_any_config(path):
    """A run, study, search, SRC or robustness config, told apart by its sections."""
    from bio_sleep.config import load_config, read_toml
    from bio_sleep.studies.config import experiment_kind

    sections = read_toml(path, "experiments/patches.toml")
    if "grid" in sections or "points" in sections:
        from bio_sleep.studies.config import load_study
        return load_study(path)
    if "parameters" in sections:
        from bio_sleep.studies.search import load_search
        return load_search(path)
    if experiment_kind(sections) == "cnn":
        from bio_sleep.src.config import load_src_config
        return load_src_config(path)
    if {"attacks", "defences", "study"} & sections.keys():
        from bio_sleep.robustness.config import load_robustness_config
        return load_robustness_config(path)
    return load_config(path)


def _config(args) -> None:
    from bio_sleep.config import config_to_toml, default_config

    print(config_to_toml(load_any_config(args.config) if args.config else default_config()), end="")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bio-sleep",
        description="Give a trained bias-free ReLU network a sleep phase simulated in Brian2 and measure its robustness.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser(
        "run", help="train a network, sleep it, evaluate control and slept network",
        description="Train the control network, convert it to a spiking network, run sleep (Brian2 or torch), "
                    "fold the weights back and evaluate both networks on clean, noisy and blurred test data. "
                    "Writes config.toml, control.pt, slept.pt, sleep_recording.nc, weights.nc (before/after sleep), "
                    "results.nc, accuracy.png and summary.json into a new folder under output_dir.")
    run.add_argument("config", nargs="?", help="experiment TOML (default: the embedded Patches experiment, "
                                               "identical to experiments/patches.toml)")
    run.add_argument("--data-root", help="folder holding MNIST/raw/*.gz etc. (overrides data.root; "
                                         "default $BIO_SLEEP_DATA, then ~/.cache/bio_sleep/data)")
    run.add_argument("--output-dir", help="where the run folder is created (overrides output_dir; default runs/)")
    run.add_argument("--seed", type=int, help="seed for initialisation, sample order, sleep input and distortions")
    run.add_argument("--backend", choices=["brian2", "torch"], help="sleep simulator (overrides sleep.backend)")
    run.add_argument("--quiet", action="store_true", help="no progress bars")
    run.set_defaults(handler=_run)

    show = commands.add_parser("config", help="print a config with every default filled in",
                               description="Print the embedded default config, or the given one (run, study, search, "
                                           "SRC or robustness) with defaults filled in.")
    show.add_argument("config", nargs="?", help="any bio-sleep TOML (default: the embedded Patches experiment)")
    show.set_defaults(handler=_config)

    add_analyse_parser(commands)
    add_analyse_cnn_parser(commands)
    add_analyse_run_parser(commands)
    add_study_parsers(commands)
    add_src_parser(commands)
    add_robustness_parser(commands)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args) or 0
    except BioSleepError as error:
        print(f"bio-sleep: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nbio-sleep: interrupted; files already written in the run folder are complete", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
