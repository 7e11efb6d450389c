"""The ``bio-sleep`` command line.

Building the parser imports only argparse (``--help`` and ``config`` start at once); each subcommand imports
what it needs when it runs. ``main`` is the one place that turns a BioSleepError into ``bio-sleep: error: ...``
(exit 2) and Ctrl-C into a line saying what was kept (exit 130).
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from bio_sleep.analysis.cli import add_parser as add_analyse_parser
from bio_sleep.analysis.cnn_cli import add_parser as add_analyse_cnn_parser
from bio_sleep.analysis.run_cli import add_parser as add_analyse_run_parser
from bio_sleep.cli_options import add_data_root, add_out, add_quiet, add_set, overrides_of
from bio_sleep.errors import BioSleepError
from bio_sleep.robustness.cli import add_parser as add_robustness_parser
from bio_sleep.src.cli import add_parser as add_src_parser
from bio_sleep.studies.cli import add_parser as add_study_parsers
from bio_sleep.version import package_version

# The example configs of a source checkout, which `bio-sleep config NAME` prints by name.
EXAMPLES = Path(__file__).resolve().parents[1] / "experiments"
# What a subcommand interrupted by Ctrl-C leaves behind, unless it says otherwise (set_defaults(kept=...)).
NOTHING_KEPT = "interrupted; nothing was written"


def _run(args) -> None:
    from bio_sleep.config import default_config, load_config, with_overrides
    from bio_sleep.pipeline import run_experiment

    overrides = overrides_of(
        args, {"data.root": args.data_root, "output_dir": args.out, "seed": args.seed, "sleep.backend": args.backend}
    )
    if args.config:
        config = load_config(args.config, overrides=overrides)
    else:
        config = with_overrides(default_config(), overrides, "--set") if overrides else default_config()
    control = None
    if args.control:
        from bio_sleep.pipeline import reused_control

        control = reused_control(args.control, config)
    outcome = run_experiment(config, progress=not args.quiet, control=control)
    summary = outcome.summary
    print("\nclean accuracy: " + ", ".join(f"{k} {v:.4f}" for k, v in summary["accuracy_clean"].items()))
    for key, values in summary.items():
        if key.startswith("mean_accuracy_"):
            label = key.removeprefix("mean_accuracy_").replace("_", " ")
            print(f"mean accuracy over the {label} sweep: " + ", ".join(f"{k} {v:.4f}" for k, v in values.items()))
    print("timings (s): " + ", ".join(f"{k} {v:.1f}" for k, v in summary["timings"].items()))
    print(f"results, plot, models and config in {outcome.folder}")


def load_any_config(path, overrides: dict | None = None):
    """A run, study, search, SRC or robustness config, told apart by its sections; ``overrides`` as in
    ``bio_sleep.config.load_config``."""
    from bio_sleep.config import experiment_kind, load_config, read_toml

    sections = read_toml(path, "experiments/patches.toml")
    if "grid" in sections or "points" in sections:
        from bio_sleep.studies.config import load_study

        return load_study(path, overrides)
    if "parameters" in sections:
        from bio_sleep.studies.search import load_search

        return load_search(path, overrides)
    if experiment_kind(sections) == "cnn":
        from bio_sleep.src.config import load_src_config

        return load_src_config(path, overrides)
    if {"attacks", "defences", "study"} & sections.keys():
        from bio_sleep.robustness.config import load_robustness_config

        return load_robustness_config(path, overrides)
    return load_config(path, overrides=overrides)


def shipped_config(name: str) -> Path:
    """``name`` as a path, or the shipped example ``experiments/<name>.toml`` of a source checkout."""
    path = Path(name)
    if path.exists() or path.suffix or len(path.parts) > 1:
        return path
    if (EXAMPLES / f"{name}.toml").is_file():
        return EXAMPLES / f"{name}.toml"
    names = sorted(p.stem for p in EXAMPLES.glob("*.toml"))
    raise BioSleepError(
        f"'{name}' is neither a config file nor a shipped example; give a path to a .toml file"
        + (f" or one of {', '.join(names)}" if names else "")
    )


def _config(args) -> None:
    from bio_sleep.config import config_to_toml, default_config, with_overrides

    overrides = overrides_of(args)
    if args.config:
        config = load_any_config(shipped_config(args.config), overrides)
    else:
        config = with_overrides(default_config(), overrides, "--set") if overrides else default_config()
    print(config_to_toml(config), end="")


def _cache(args) -> None:
    from bio_sleep.sleep.brian2_cache import cache_folder, cache_summary, clear_cache

    folder = cache_folder()
    if args.action == "info":
        count, size = cache_summary(folder)
        print(f"Brian2 compile cache: {folder}\n{count} compiled network(s), {size / 2**20:.1f} MiB")
        return
    removed, busy = clear_cache(folder)
    print(f"removed {len(removed)} compiled network(s) from {folder}")
    if busy:
        print(
            f"kept {len(busy)} in use by another process (run `bio-sleep cache clear` again once it ends): "
            + ", ".join(entry.name for entry in busy)
        )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bio-sleep",
        description="Give a trained bias-free ReLU network a sleep phase simulated in Brian2 and measure its "
        "robustness. Start a config with `bio-sleep config > my.toml`, or "
        "`bio-sleep config NAME > my.toml` from a shipped example or any file.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser(
        "run",
        help="train a network, sleep it, evaluate control and slept network",
        description="Train the control network, convert it to a spiking network, run sleep (Brian2 or torch), "
        "fold the weights back and evaluate both networks on clean, noisy and blurred test data. "
        "Writes config.toml, control.pt, slept.pt, sleep_recording.nc, weights.nc (before/after sleep), "
        "results.nc, accuracy.png and summary.json into a new folder under output_dir.",
    )
    run.add_argument(
        "config",
        nargs="?",
        help="experiment TOML (default: the embedded Patches experiment, identical to experiments/patches.toml)",
    )
    add_set(run, "sleep.steps=3000 --set training.epochs=1")
    add_data_root(run)
    add_out(run, "where the run folder is created (overrides output_dir; default runs/)")
    run.add_argument("--seed", type=int, help="seed for initialisation, sample order, sleep input and distortions")
    run.add_argument("--backend", choices=["brian2", "torch"], help="sleep simulator (overrides sleep.backend)")
    run.add_argument(
        "--control",
        metavar="RUN_FOLDER",
        help="reuse the trained control of an earlier run folder (e.g. one whose sleep failed) instead of "
        "training again; its seed, data, model and training settings must match",
    )
    add_quiet(run)
    run.set_defaults(
        handler=_run,
        uses_brian2=True,
        kept="interrupted; the run was not finished: its folder (if created) has no summary.json",
    )

    show = commands.add_parser(
        "config",
        help="print a config with every default filled in",
        description="Print the embedded default config, or the given one (run, study, search, "
        "SRC or robustness) with defaults filled in and --set applied; "
        "`bio-sleep config > my.toml` starts a new config.",
    )
    show.add_argument(
        "config",
        nargs="?",
        help="any bio-sleep TOML, or the name of a shipped example such as "
        "mnist_iclr_generalisation (default: the embedded Patches experiment)",
    )
    add_set(show)
    show.set_defaults(handler=_config)

    cache = commands.add_parser(
        "cache",
        help="show or clear the Brian2 compile cache",
        description="The compiled Brian2 networks kept across processes (in $BIO_SLEEP_CACHE/brian2, default "
        "~/.cache/bio_sleep/brian2). info: the folder, its compiled networks and their size; clear: remove "
        "every compiled network that no running process is using (those are kept and named).",
    )
    cache.add_argument("action", choices=["info", "clear"])
    cache.set_defaults(handler=_cache)

    add_analyse_parser(commands)
    add_analyse_cnn_parser(commands)
    add_analyse_run_parser(commands)
    add_study_parsers(commands)
    add_src_parser(commands)
    add_robustness_parser(commands)
    return parser


def _ctrl_c_raises() -> None:
    """Make SIGINT raise KeyboardInterrupt wherever it comes, also once Brian2 is imported (every sleep imports it).

    Brian2 installs a SIGINT handler at import that, while a network runs, only asks the simulation to stop
    after the current step (a standalone binary never hears of it when the signal goes to this process alone:
    the first Ctrl-C was ignored), and otherwise calls the handler it found, which fails with a TypeError when
    that was SIG_IGN (a process started in the background). So: Python's own handler first, for Brian2 to find,
    and Brian2's stop-after-this-step behaviour off.
    """
    signal.signal(signal.SIGINT, signal.default_int_handler)
    from brian2 import prefs

    prefs.core.stop_on_keyboard_interrupt = False


def _interrupted(error: BaseException) -> bool:
    """Whether ``error`` was caused by Ctrl-C (Brian2's runtime targets wrap the KeyboardInterrupt they meet)."""
    while error is not None:
        if isinstance(error, KeyboardInterrupt):
            return True
        error = error.__cause__
    return False


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if getattr(args, "uses_brian2", False):
            _ctrl_c_raises()
        return args.handler(args) or 0
    except BioSleepError as error:
        print(f"bio-sleep: error: {error}", file=sys.stderr)
        return 2
    except Exception as error:
        if not _interrupted(error):
            raise
        print(f"\nbio-sleep: {getattr(args, 'kept', NOTHING_KEPT)}", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print(f"\nbio-sleep: {getattr(args, 'kept', NOTHING_KEPT)}", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
