"""Reproduce Figure 2 or Figure 3 of the CNN paper from a config: python experiments/src_reproduce.py <config.toml>.

Writes into <output_dir>/<name>/: config.toml, trials/trial_NN.nc (one per finished seed; rerunning
skips them), results.nc, figure2.png, figure3.png and results.md (numbers next to the paper's claims).
"""
import argparse
import sys

from bio_sleep.errors import BioSleepError
from bio_sleep.src.cli import add_parser


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    add_parser(parser.add_subparsers(required=True))
    args = parser.parse_args(["src", *sys.argv[1:]])
    try:
        return args.handler(args)
    except BioSleepError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
