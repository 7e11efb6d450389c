"""`bio-sleep src <config.toml>`: run an SRC reproduction (Figure 2 / 3 of the CNN paper)."""
from __future__ import annotations

from bio_sleep.src.config import load_src_config, src_config_from_dict


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("src", help="Sleep Replay Consolidation on a CNN: train, sleep, FFF, baselines, figures")
    parser.add_argument("config", help="an SRC experiment TOML, e.g. experiments/src_mnist_figure2.toml")
    parser.add_argument("--trials", type=int, help="override the number of trials (seeds)")
    parser.add_argument("--epochs", type=int, help="override training.epochs (for quick runs)")
    parser.add_argument("--output-dir", help="override output_dir")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.set_defaults(handler=_run)


def _run(args) -> int:
    from bio_sleep.src.experiment import run_src_experiment

    config = load_src_config(args.config)
    if args.trials or args.epochs or args.output_dir:
        values = config.model_dump()
        if args.trials:
            values["trials"] = args.trials
        if args.epochs is not None:
            values["training"]["epochs"] = args.epochs
        if args.output_dir:
            values["output_dir"] = args.output_dir
        config = src_config_from_dict(values, "command line overrides")
    folder = run_src_experiment(config, progress=not args.quiet)
    print(f"results in {folder}")
    return 0
