"""``bio-sleep study <study.toml> --out DIR`` and ``bio-sleep search <search.toml> --out DIR``."""
from __future__ import annotations

import argparse


def _execution_overrides(config, args):
    changes = {}
    if args.workers is not None:
        changes["workers"] = args.workers
    if args.scheduler is not None:
        changes["scheduler"] = args.scheduler
    return config.model_copy(update={"execution": config.execution.model_copy(update=changes)}) if changes else config


def _add_execution(parser) -> None:
    parser.add_argument("--out", required=True, help="results folder (rerun with the same folder to resume)")
    parser.add_argument("--workers", type=int, help="worker processes of the local Dask cluster (overrides the file)")
    parser.add_argument("--scheduler", help="address of an existing Dask scheduler, e.g. tcp://host:8786")


def add_parser(subparsers) -> None:
    study = subparsers.add_parser("study", help="sweep sleep parameters over a grid, on Dask; resumable")
    study.add_argument("config", help="study TOML (see experiments/study_*.toml)")
    _add_execution(study)
    study.add_argument("--retry-failed", action="store_true", help="rerun points recorded as failed")
    study.set_defaults(handler=run_study_command)
    search = subparsers.add_parser("search", help="search sleep parameters with Optuna on a validation split")
    search.add_argument("config", help="search TOML (see experiments/study_search_*.toml)")
    _add_execution(search)
    search.set_defaults(handler=run_search_command)


def run_study_command(args) -> int:
    from bio_sleep.studies import load_study, run_study

    if args.workers is not None and args.workers < 1:
        raise argparse.ArgumentTypeError("--workers must be >= 1")
    study = _execution_overrides(load_study(args.config), args)
    dataset = run_study(study, args.out, retry_failed=args.retry_failed)
    status = dataset["status"].values.ravel().tolist()
    print(f"{status.count('ok')} points ok, {status.count('failed')} failed; results in {args.out}/study.nc")
    return 0 if status.count("failed") == 0 else 1


def run_search_command(args) -> int:
    from bio_sleep.studies.search import load_search, run_search

    search = _execution_overrides(load_search(args.config), args)
    study = run_search(search, args.out)
    print(f"best {search.objective} = {study.best_value:.4f} with {study.best_trial.params}; "
          f"ready-to-run config: {args.out}/best_config.toml")
    return 0
