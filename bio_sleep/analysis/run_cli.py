"""``bio-sleep analyse-run RUN_FOLDER``: the ICLR paper's analyses of a finished ``bio-sleep run``."""

from __future__ import annotations

import argparse

from bio_sleep.cli_options import add_data_root, add_out, add_quiet, add_set, overrides_of


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number")
    return value


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "analyse-run",
        help="ICLR-paper analyses of a bio-sleep run folder (class correlations, digit-specific neurons)",
        description="Figures 13-15 (per-class correlations of hidden-layer activations, slept minus control, on "
        "clean, noisy and blurred test inputs), Figures 16-17 (each class's most active neurons in the "
        "spiking network and in the ANN, before and after sleep) and, for Patches with one weight "
        "layer, Figures 6-7 (weights by pixel role, ON/OFF weight spread).",
    )
    parser.add_argument("run_folder", help="folder written by `bio-sleep run` (config.toml, control.pt, slept.pt)")
    add_out(parser, "folder for the netCDF, CSV and PNG files (default: RUN_FOLDER/analyses)")
    add_set(parser, "data.test_samples=1000")
    add_data_root(parser, "data.root of the run's config")
    parser.add_argument("--noise", type=float, default=0.3, help="Gaussian noise variance of the noisy inputs")
    parser.add_argument("--blur", type=float, default=1.0, help="Gaussian blur sigma of the blurred inputs")
    parser.add_argument("--top-k", type=_positive, default=100, help="class-specific neurons per class and layer")
    parser.add_argument(
        "--spiking-samples",
        type=_positive,
        default=500,
        help="test images shown to the spiking network (plasticity off)",
    )
    parser.add_argument("--steps-per-image", type=_positive, default=10, help="time steps each image is shown")
    add_quiet(parser)
    parser.set_defaults(
        handler=run, uses_brian2=True, kept="interrupted; the --out folder may hold only part of the analyses"
    )
    return parser


def run(args) -> int:
    from pathlib import Path

    from bio_sleep.analysis.run_report import analyse_run, load_run

    config, data, models = load_run(args.run_folder, overrides_of(args, {"data.root": args.data_root}))
    out = args.out or Path(args.run_folder) / "analyses"
    for path in analyse_run(
        config,
        data,
        models,
        out,
        noise_variance=args.noise,
        blur_sigma=args.blur,
        top_k=args.top_k,
        spiking_samples=args.spiking_samples,
        steps_per_image=args.steps_per_image,
        progress=not args.quiet,
    ):
        print(path)
    return 0
