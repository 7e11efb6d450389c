"""``bio-sleep robustness <config.toml>``: the subcommand the main CLI wires in via ``add_parser``."""

from __future__ import annotations

import argparse

from bio_sleep.cli_options import add_data_root, add_out, add_quiet, add_set, add_stale, overrides_of


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "robustness", help="run the ICLR 2020 adversarial robustness study (four networks, four attacks, distortions)"
    )
    parser.add_argument("config", help="TOML config, e.g. experiments/robustness_patches.toml")
    add_set(parser, "attacks.samples=100")
    add_data_root(parser)
    add_out(parser, "output folder (default: <output_dir>/<name>; reruns resume there)")
    add_stale(parser)
    add_quiet(parser)
    parser.set_defaults(
        handler=_run,
        uses_brian2=True,
        kept="interrupted; finished parts are kept in the output folder: rerun the command to resume",
    )
    return parser


def _run(args) -> int:
    from bio_sleep.robustness import load_robustness_config, run_study

    config = load_robustness_config(args.config, overrides_of(args, {"data.root": args.data_root}))
    folder = run_study(config, output_dir=args.out, progress=not args.quiet, stale=args.stale)
    print((folder / "table.md").read_text())
    print(f"results in {folder}")
    return 0
