"""The options every ``bio-sleep`` subcommand spells the same way: --set, --out, --data-root, --stale, --quiet,
--workers and --scheduler.

Nothing heavy is imported here, so that ``bio-sleep --help`` starts at once.
"""

from __future__ import annotations


def add_set(parser, example: str = "sleep.steps=3000") -> None:
    """``--set KEY=VALUE`` (repeatable), validated with the file."""
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=f"change one config value without editing the file, e.g. --set {example}; repeatable; "
        'the value is read as TOML (3000, 0.5, true, [1.0, 2.0], "text"; a bare word is a '
        "string) and validated like the file",
    )


def add_out(parser, help: str, *, required: bool = False) -> None:
    """``--out DIR``, the output folder of every subcommand."""
    parser.add_argument("--out", required=required, help=help)


def add_data_root(parser, config_key: str = "data.root") -> None:
    parser.add_argument(
        "--data-root",
        help=f"folder holding MNIST/raw/*.gz etc. (overrides {config_key}; "
        "default $BIO_SLEEP_DATA, then ~/.cache/bio_sleep/data)",
    )


def add_stale(parser) -> None:
    """``--stale``, for the commands that resume in their output folder."""
    from bio_sleep.run_folder import STALE_CHOICES

    parser.add_argument(
        "--stale",
        choices=STALE_CHOICES,
        default="refuse",
        help="what to do with results in the output folder that other bio-sleep code made (another version or "
        "an edited checkout): refuse (default) stops with an error naming them, recompute redoes them, reuse "
        "keeps them as they are (the manifest records the code that made each file)",
    )


def add_execution(parser, what: str, config_key: str | None = None, note: str = "") -> None:
    """``--workers N`` and ``--scheduler ADDRESS``: where the independent ``what`` run (an ExecutionConfig)."""
    workers = f" (overrides {config_key}.workers)" if config_key else ""
    parser.add_argument(
        "--workers",
        type=int,
        help=f"worker processes of a local Dask cluster that run {what} side by side{workers}{note}",
    )
    scheduler = f" (overrides {config_key}.scheduler)" if config_key else ""
    parser.add_argument(
        "--scheduler", help=f"address of an existing Dask scheduler that runs {what}, e.g. tcp://host:8786{scheduler}"
    )


def add_quiet(parser) -> None:
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def overrides_of(args, options: dict | None = None) -> dict:
    """The nested overrides of ``--set`` plus ``options`` (dotted key -> the value of a dedicated option such
    as --data-root; None: not given), read by ``bio_sleep.config.parse_overrides``."""
    from bio_sleep.config import parse_overrides

    assignments = list(args.overrides)
    for key, value in (options or {}).items():
        if value is not None:
            assignments.append(f"{key}={_toml_literal(value)}")
    return parse_overrides(assignments)


def _toml_literal(value) -> str:
    import tomli_w

    return tomli_w.dumps({"value": value}).partition("=")[2].strip()
