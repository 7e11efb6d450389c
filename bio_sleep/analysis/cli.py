"""``bio-sleep analyse <recording.nc> --out DIR [--nix PATH]``: the standard views of a sleep recording, and
the recording as a neo.Block in a NIX file."""

from __future__ import annotations

import argparse

from bio_sleep.cli_options import add_out
from bio_sleep.errors import BioSleepError


def _image_shape(text: str) -> tuple[int, ...]:
    try:
        shape = tuple(int(part) for part in text.split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"image shape '{text}' is not like 28x28 or 1x28x28") from None
    if len(shape) not in (2, 3) or min(shape) < 1:
        raise argparse.ArgumentTypeError(f"image shape '{text}' is not like 28x28 or 1x28x28")
    return shape


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("analyse", help="plots and statistics of a sleep recording (netCDF)")
    parser.add_argument("recording", help="recording .nc written from SleepRecording.to_dataset()")
    add_out(parser, "folder for the PNGs and spike_statistics.csv")
    parser.add_argument(
        "--nix",
        metavar="PATH",
        help="also write the recording as a neo.Block to this NIX file (.nix; a SpikeTrain per neuron, "
        "potentials as AnalogSignals; needs sleep.record_spike_trains)",
    )
    parser.add_argument(
        "--weights", help=".nc with weight_before_<k>/weight_after_<k> (bio_sleep.analysis.weights_dataset)"
    )
    parser.add_argument("--image-shape", type=_image_shape, help="draw first-layer input weights as images, e.g. 28x28")
    parser.add_argument("--bin-steps", type=int, default=10, help="bin width in steps for spike-count correlations")
    parser.set_defaults(handler=run, kept="interrupted; the --out folder may hold only part of the analyses")
    return parser


def run(args) -> int:
    import xarray as xr

    from bio_sleep.analysis.report import analyse_recording, open_recording

    if not (args.out or args.nix):
        raise BioSleepError("give --out DIR for the plots and statistics, --nix PATH for a NIX file, or both")
    dataset = open_recording(args.recording)
    if args.nix:
        from bio_sleep.analysis.neo_export import write_nix

        print(write_nix(dataset, args.nix))
    if not args.out:
        return 0
    weights_data = None
    if args.weights:
        try:
            weights_data = xr.load_dataset(args.weights)
        except (OSError, ValueError) as error:
            raise BioSleepError(f"weights file {args.weights} is not readable netCDF ({error})") from None
    for path in analyse_recording(
        dataset, args.out, weights_data=weights_data, image_shape=args.image_shape, bin_steps=args.bin_steps
    ):
        print(path)
    return 0
