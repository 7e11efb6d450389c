"""Benchmark: a decay x threshold study with Brian2 cpp_standalone on 1 or 2 Dask workers.

    python benchmarks/study_decay_threshold.py --workers 2 --side 4 --out runs/bench_study_w2
    python benchmarks/study_decay_threshold.py --dataset mnist --widths 784,1200,1200,10 --train-samples 2000 ...

Prints points/minute (over the points' own wall time, i.e. from the first
submission to the last result, without cluster start and control training),
compilations per worker (points whose compile_seconds > 0, per worker pid) and
the mean per-point sleep / compile seconds. The numbers go into the output
folder as benchmark.json next to the study's own files.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path

import numpy as np

from bio_sleep.config import default_config, with_overrides
from bio_sleep.studies import run_study, study_from_dict


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--side", type=int, default=4, help="values per parameter (side x side points)")
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--dataset", default="patches", choices=["patches", "mnist"])
    parser.add_argument("--widths", default="100,4")
    parser.add_argument("--train-samples", type=int, default=None)
    parser.add_argument("--test-samples", type=int, default=None)
    parser.add_argument("--data-root", default="", help="folder holding MNIST/raw/*.gz (default: $BIO_SLEEP_DATA)")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    widths = [int(w) for w in args.widths.split(",")]
    n_weight_layers = len(widths) - 1
    experiment = with_overrides(
        default_config(),
        {
            "model": {"widths": widths},
            "data": {
                "dataset": args.dataset,
                "root": args.data_root,
                "train_samples": args.train_samples,
                "test_samples": args.test_samples,
            },
            "sleep": {
                "backend": "brian2",
                "brian2_target": "cpp_standalone",
                "steps": args.steps,
                "thresholds": [1.045] * n_weight_layers,
            },
        },
    )
    study = study_from_dict(
        {
            "name": f"bench_{args.dataset}",
            "experiment": experiment.model_dump(),
            "grid": {
                "decay": list(np.linspace(0.99, 1.0, args.side)),
                "thresholds.0": list(np.linspace(0.5, 3.0, args.side)),
            },
            "evaluation": {"distortions": {"gaussian_noise": [0.3]}},
            "execution": {"workers": args.workers},
        }
    )
    start = time.perf_counter()
    dataset = run_study(study, args.out)
    total = time.perf_counter() - start
    records = [json.loads(p.read_text()) for p in sorted(Path(args.out, "points").glob("point_*.json"))]
    ok = [r for r in records if r["status"] == "ok"]
    steady = [r["seconds"] for r in ok if r["compile_seconds"] == 0]
    compiles = [r["compile_seconds"] for r in ok if r["compile_seconds"] > 0]
    compilations = Counter(r["pid"] for r in ok if r["compile_seconds"] > 0)
    points_seconds = sum(r["seconds"] for r in ok) / max(1, args.workers)
    result = {
        "workers": args.workers,
        "points": len(records),
        "ok": len(ok),
        "total_seconds_incl_startup": round(total, 1),
        "points_per_minute_incl_startup": round(60 * len(records) / total, 2),
        "points_per_minute_busy": round(60 * len(ok) / points_seconds, 2) if ok else None,
        "compilations_per_worker": dict(Counter({pid: compilations.get(pid, 0) for pid in {r["pid"] for r in ok}})),
        "mean_simulate_seconds": round(float(np.mean([r["simulate_seconds"] for r in ok])), 3) if ok else None,
        "compile_seconds": [round(r["compile_seconds"], 1) for r in ok if r["compile_seconds"] > 0],
        "mean_point_seconds": round(float(np.mean([r["seconds"] for r in ok])), 2) if ok else None,
        "steady_point_seconds": round(float(np.mean(steady)), 2) if steady else None,
        # An extrapolation, not a measurement: one compilation per worker, then steady points split over the workers.
        "estimate_100_points_minutes": round((max(compiles, default=0) + 100 * np.mean(steady) / args.workers) / 60, 1)
        if steady
        else None,
        "accuracy_clean_range": [float(dataset["accuracy_clean"].min()), float(dataset["accuracy_clean"].max())],
    }
    Path(args.out, "benchmark.json").write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
