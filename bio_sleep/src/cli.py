"""`bio-sleep src <config.toml>`: run an SRC reproduction (Figure 2 / 3 of the CNN paper)."""

from __future__ import annotations

from bio_sleep.cli_options import (
    add_data_root,
    add_execution,
    add_out,
    add_quiet,
    add_set,
    add_stale,
    overrides_of,
)


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "src", help="Sleep Replay Consolidation on a CNN: train, sleep, FFF, baselines, figures"
    )
    parser.add_argument("config", help="an SRC experiment TOML, e.g. experiments/src_mnist_figure2.toml")
    add_set(parser, "sleep.alpha_scale=2.0")
    parser.add_argument("--trials", type=int, help="override the number of trials (seeds)")
    parser.add_argument("--epochs", type=int, help="override training.epochs (for quick runs)")
    add_data_root(parser)
    add_out(parser, "where the run folder <out>/<name> is created (overrides output_dir)")
    add_execution(
        parser,
        "the missing trials",
        note="; each worker computes on one thread and loads its own copy of the data, and its trials equal those "
        "of a one-thread run in one process",
    )
    add_stale(parser)
    add_quiet(parser)
    parser.set_defaults(
        handler=_run,
        uses_brian2=True,
        kept="interrupted; finished trials are kept in the run folder: rerun the command to resume",
    )


def _run(args) -> int:
    from bio_sleep.config import ExecutionConfig, config_from_dict
    from bio_sleep.src.config import load_src_config
    from bio_sleep.src.experiment import run_src_experiment

    config = load_src_config(
        args.config,
        overrides_of(
            args,
            {
                "trials": args.trials,
                "training.epochs": args.epochs,
                "data.root": args.data_root,
                "output_dir": args.out,
            },
        ),
    )
    given = {"workers": args.workers, "scheduler": args.scheduler}
    execution = config_from_dict(
        {k: v for k, v in given.items() if v is not None}, "--workers / --scheduler", ExecutionConfig
    )
    folder = run_src_experiment(config, progress=not args.quiet, stale=args.stale, execution=execution)
    table = (folder / "results.md").read_text()
    print(table[table.index("## Paper claims") :] if "## Paper claims" in table else table)
    print(f"results in {folder}")
    return 0
