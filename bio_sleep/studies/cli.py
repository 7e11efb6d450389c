"""``bio-sleep study <study.toml> --out DIR`` and ``bio-sleep search <search.toml> --out DIR``."""

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

KEPT = "interrupted; finished {} are kept in the --out folder: rerun the same command to resume"


def _add_common(parser) -> None:
    add_set(parser, "experiment.sleep.steps=1000 --set execution.workers=2")
    add_out(parser, "results folder (rerun with the same folder to resume)", required=True)
    add_data_root(parser, "experiment.data.root")
    add_execution(parser, "the points", "execution")
    add_stale(parser)
    add_quiet(parser)


def _overrides(args) -> dict:
    return overrides_of(
        args,
        {
            "experiment.data.root": args.data_root,
            "execution.workers": args.workers,
            "execution.scheduler": args.scheduler,
        },
    )


def add_parser(subparsers) -> None:
    study = subparsers.add_parser("study", help="sweep sleep parameters over a grid, on Dask; resumable")
    study.add_argument("config", help="study TOML (see experiments/study_*.toml)")
    _add_common(study)
    study.add_argument("--retry-failed", action="store_true", help="rerun points recorded as failed")
    study.set_defaults(handler=run_study_command, uses_brian2=True, kept=KEPT.format("points"))
    search = subparsers.add_parser("search", help="search sleep parameters with Optuna on a validation split")
    search.add_argument("config", help="search TOML (see experiments/study_search_*.toml)")
    _add_common(search)
    search.set_defaults(handler=run_search_command, uses_brian2=True, kept=KEPT.format("trials"))


def run_study_command(args) -> int:
    from bio_sleep.studies import load_study, run_study

    study = load_study(args.config, _overrides(args))
    dataset = run_study(study, args.out, retry_failed=args.retry_failed, progress=not args.quiet, stale=args.stale)
    status = dataset["status"].values.ravel().tolist()
    for line in best_points(dataset):
        print(line)
    print(f"{status.count('ok')} points ok, {status.count('failed')} failed; results in {args.out}/study.nc")
    return 0 if status.count("failed") == 0 else 1


def best_points(dataset) -> list[str]:
    """Per accuracy variable (mean over its levels), the best point's parameters against the control's value."""
    import numpy as np

    lines = []
    for name in sorted(v for v in dataset.data_vars if v.startswith("accuracy_")):
        values = dataset[name]
        values = values.mean([d for d in values.dims if d.endswith("_level")])
        if values.isnull().all():
            continue
        flat = values.stack(cell=values.dims)
        best = flat.isel(cell=int(np.nanargmax(flat.values)))
        where = ", ".join(
            f"{c} {float(best[c]):g}"
            for c in best.coords
            if c != "cell" and best[c].ndim == 0 and c not in ("point",) and c in dataset.coords
        )
        control = dataset.attrs.get(f"control_{name}")
        versus = f" (control {float(control):.4f})" if isinstance(control, (int, float)) else ""
        lines.append(f"best {name}: {float(best):.4f}{versus} at {where}")
    return lines


def run_search_command(args) -> int:
    from bio_sleep.studies.search import best_trial, load_search, run_search

    search = load_search(args.config, _overrides(args))
    best = best_trial(search, run_search(search, args.out, progress=not args.quiet, stale=args.stale))
    print(
        f"best {search.objective} = {best.value:.4f} with {best.params}; "
        f"ready-to-run config: {args.out}/best_config.toml"
    )
    return 0
