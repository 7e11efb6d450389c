"""``bio-sleep analyse-cnn --model NAME=PATH ... --out DIR``: the CNN paper's analyses of saved models."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bio_sleep.cli_options import add_data_root, add_out, add_quiet, add_set, add_stale, overrides_of
from bio_sleep.errors import BioSleepError


def _model_spec(text: str) -> tuple[str, str]:
    name, sep, path = text.partition("=")
    if not sep or not name or not path:
        raise argparse.ArgumentTypeError(f"'{text}' is not NAME=PATH, e.g. baseline=runs/x/models/trial_00_baseline.pt")
    return name, path


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "analyse-cnn",
        help="spatial-gradient statistics, KL and Grad-CAM attention of saved CNNs (CNN paper)",
        description="Tables III-IV (spatial gradients of conv filters: fitted Gaussian per layer, KL divergence from "
        "the first model) and Table VI (Grad-CAM attention overlap with the input's non-zero pixels) "
        "for state dicts of one architecture, or for every trial of a bio-sleep src run folder (--run).",
    )
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--model",
        type=_model_spec,
        action="append",
        metavar="NAME=PATH",
        help="a saved state dict; repeat for each model, the first is the reference (e.g. baseline)",
    )
    which.add_argument(
        "--run",
        metavar="FOLDER",
        help="a bio-sleep src run folder: every finished trial, analysed from its saved models (or kept from an "
        "earlier analysis in --out when its models are not here), summarised over trials beside the paper's "
        "Tables III, IV and VI (cnn_analyses.nc, tables.md); resumable",
    )
    add_out(parser, "folder for the CSV, netCDF and PNG files", required=True)
    parser.add_argument(
        "--config",
        help="the config the models were trained with (default: config.toml beside the "
        "first model or one folder up, as in a bio-sleep src run)",
    )
    add_set(parser, "data.test_samples=500")
    add_data_root(parser, "data.root of the config")
    parser.add_argument(
        "--samples",
        type=int,
        default=100,
        help="test images for Grad-CAM, each also under the config's distortion sweeps (0: skip)",
    )
    parser.add_argument(
        "--skip-missing",
        action="store_true",
        help="with --run: summarise the trials whose models or analyses are here and name the others in tables.md "
        "(default: refuse, so a table never silently covers fewer trials than the run)",
    )
    add_stale(parser)
    add_quiet(parser)
    parser.set_defaults(
        handler=run,
        kept="interrupted; with --run, the trials analysed are kept in --out (rerun to resume); with --model, the "
        "--out folder may hold only part of the analyses",
    )
    return parser


def _config_path(args) -> Path:
    if args.config:
        return Path(args.config)
    first = Path(args.run).resolve() / "models" if args.run else Path(args.model[0][1]).resolve().parent
    for folder in (first, first.parent):
        if (folder / "config.toml").is_file():
            return folder / "config.toml"
    raise BioSleepError(f"no config.toml in {first} or {first.parent}; give the models' config with --config")


def run(args) -> int:
    import torch

    from bio_sleep.analysis import cnn_tables
    from bio_sleep.analysis.cnn_report import analyse_cnn, load_model, read_architecture
    from bio_sleep.config import with_overrides

    if args.run and not Path(args.run).is_dir():
        raise BioSleepError(f"--run {args.run} is not a folder; give the folder a bio-sleep src run wrote")
    names = [name for name, _ in args.model or []]
    if len(set(names)) != len(names):
        raise BioSleepError(f"model names {names} repeat; give each --model a different NAME")
    if args.skip_missing and not args.run:
        raise BioSleepError("--skip-missing needs --run: with --model every named model is analysed")
    if args.samples < 0:
        raise BioSleepError(f"--samples must be >= 0, got {args.samples}")
    config_path = _config_path(args)
    config = read_architecture(config_path)
    overrides = overrides_of(args, {"data.root": args.data_root})
    if overrides:
        config = with_overrides(config, overrides)

    def load(models: dict[str, str]) -> dict:
        loaded = {name: load_model(name, path, config, config_path) for name, path in models.items()}
        for name, model in loaded.items():
            if not all(torch.isfinite(p).all() for p in model.state_dict().values()):
                raise BioSleepError(
                    f"model '{name}' ({models[name]}) holds NaN or infinite weights, so no "
                    "analysis of it means anything; give a model that trained without diverging"
                )
        return loaded

    if args.run:
        written = cnn_tables.analyse_run(
            Path(args.run),
            load,
            args.out,
            images=(lambda: _test_images(config, args, config_path)) if args.samples else None,
            samples=args.samples,
            config=config,
            history="bio-sleep " + " ".join(sys.argv[1:]),
            progress=not args.quiet,
            stale=args.stale,
            skip_missing=args.skip_missing,
        )
    else:
        models = load(dict(args.model))  # the models fit a CNN config before its data is read
        images = _test_images(config, args, config_path) if args.samples else None
        shape, sweeps = tuple(config.model.input_shape), getattr(config.evaluation, "sweeps", {})
        written = analyse_cnn(models, args.out, images=images, input_shape=shape, sweeps=sweeps, seed=config.seed)
    for path in written:
        print(path)
    return 0


def _test_images(config, args, config_path):
    import numpy as np

    from bio_sleep.data import load_dataset

    try:
        data = load_dataset(config.data)
    except BioSleepError as error:
        raise BioSleepError(
            f"Grad-CAM needs the test images of [data] in {config_path}: {error}\n"
            "give --data-root, or --samples 0 to skip the attention analysis"
        ) from None
    if data.n_inputs != int(np.prod(config.model.input_shape)):
        raise BioSleepError(
            f"the test images have {data.n_inputs} values but model.input_shape "
            f"{config.model.input_shape} needs {int(np.prod(config.model.input_shape))}"
        )
    return data.x_test[: args.samples]
