"""``bio-sleep robustness <config.toml>``: the subcommand the main CLI wires in via ``add_parser``."""
from __future__ import annotations

import argparse


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "robustness", help="run the ICLR 2020 adversarial robustness study (four networks, four attacks, distortions)")
    parser.add_argument("config", help="TOML config, e.g. experiments/robustness_patches.toml")
    parser.add_argument("--output", default=None, help="output folder (default: <output_dir>/<name>; reruns resume there)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.set_defaults(handler=_run)
    return parser


def _run(args) -> int:
    from bio_sleep.robustness import load_robustness_config, run_study

    folder = run_study(load_robustness_config(args.config), output_dir=args.output, progress=not args.quiet)
    print((folder / "table.md").read_text())
    print(f"results in {folder}")
    return 0
