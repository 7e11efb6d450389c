"""Time the sleep of the MNIST-sized network (784-1200-1200-10) on each backend.

Each backend runs in its own subprocess, with an empty compile cache
($BIO_SLEEP_CACHE in a temporary folder), so that compile time and peak
memory are its own. The network has random N(0, 0.05) weights and thresholds set so
that the hidden and output layers fire 2-3 % of their neurons per step (the
measured fractions are part of the output); the input is a Bernoulli
raster at 1 % per step, as the MNIST mean image gives at the ICLR rates.

    python benchmarks/sleep_speed.py --steps 10000 --out sleep_speed.json
    python benchmarks/sleep_speed.py --table benchmarks/results/sleep_speed.json   # the README's table

Without ``--out`` the results are only printed (the committed JSON is overwritten only when named).

Reports, per backend: compile seconds (code generation and compilation),
steps per second of a rerun with new parameter values (its overhead
included), peak resident memory, and the per-layer firing fractions; a second
run with new parameter values shows the reuse overhead (no recompilation).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SIZES = (784, 1200, 1200, 10)
THRESHOLDS = (0.2, 1.0, 1.5)  # about 3 %, 3 % and 2 % of each layer's neurons spike per step


def network_and_input(steps: int, seed: int = 0):
    import numpy as np

    from bio_sleep.converters import SleepDynamics, SpikingNetwork

    rng = np.random.default_rng(seed)
    weights = tuple(rng.normal(0.0, 0.05, (n_post, n_pre)) for n_pre, n_post in zip(SIZES[:-1], SIZES[1:]))
    network = SpikingNetwork(weights, (1.0, 1.0, 1.0), THRESHOLDS)
    # Tiny inc/dec keep the firing steady over the run; the STDP work is the same as with larger values.
    dynamics = SleepDynamics(0.99, 1e-6, 1e-6, "weight_dependent", "above")
    return network, dynamics, rng.random((steps, SIZES[0])) < 0.01


def measure(backend: str, steps: int) -> dict:
    """Run in this process: two sleeps (the second with new values) on one backend."""
    import dataclasses

    import torch

    from bio_sleep.config import SleepConfig

    network, dynamics, raster = network_and_input(steps)
    options = {
        "torch": dict(backend="torch"),
        "torch_float32": dict(backend="torch", torch_dtype="float32"),
        "cpp_standalone": dict(backend="brian2", brian2_target="cpp_standalone"),
        "cython": dict(backend="brian2", brian2_target="cython"),
    }[backend]
    config = SleepConfig(steps=steps, thresholds=list(THRESHOLDS), **options)
    torch.set_num_threads(1)
    from bio_sleep.sleep.run import simulate

    start = time.perf_counter()
    _, recording, compile_seconds = simulate(network, dynamics, raster, config, progress=False)
    first = time.perf_counter() - start
    changed = dataclasses.replace(dynamics, decay=0.985, inc=2e-6)
    start = time.perf_counter()
    _, _, recompile = simulate(network, changed, raster, config, progress=False)
    second = time.perf_counter() - start
    return {
        "backend": backend,
        "steps": steps,
        "compile_s": round(compile_seconds, 2),
        "first_run_s": round(first, 2),
        "second_run_new_values_s": round(second, 2),
        "second_run_compile_s": round(recompile, 2),
        # From the second run, reuse overhead (writing values, starting the binary, reading results) included.
        "steps_per_s": round(steps / second, 1),
        "firing_fraction_per_layer": [round(float(f), 4) for f in recording.firing_fraction()],
        "peak_rss_mb_self": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "peak_rss_mb_children": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=10000)
    parser.add_argument("--backends", nargs="+", default=["cpp_standalone", "cython", "torch", "torch_float32"])
    parser.add_argument("--out", type=Path, help="write the results to this JSON file")
    parser.add_argument("--table", type=Path, help="print the markdown table of a results JSON and exit")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.steps)))
        return
    if args.table:
        print(markdown_table(json.loads(args.table.read_text())))
        return
    results = []
    for backend in args.backends:
        with tempfile.TemporaryDirectory() as cache:
            output = subprocess.run(
                [sys.executable, __file__, "--child", backend, "--steps", str(args.steps)],
                capture_output=True,
                text=True,
                check=True,
                env={**os.environ, "BIO_SLEEP_CACHE": cache},
            ).stdout
        results.append(json.loads(output.strip().splitlines()[-1]))
        print(json.dumps(results[-1]))
    summary = {"sizes": SIZES, "cpus": len(os.sched_getaffinity(0)), "results": results}
    print(markdown_table(summary))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(summary, indent=2))


def markdown_table(summary: dict) -> str:
    """The README's speed table from a results JSON."""
    names = {
        "cpp_standalone": "Brian2 `cpp_standalone`",
        "cython": "Brian2 `cython`",
        "torch": "torch float64 (exact), 1 thread",
        "torch_float32": "torch float32, 1 thread",
    }
    lines = ["| backend | compile, empty cache (s) | steps/s | peak RSS (MB) |", "|---|---|---|---|"]
    for row in summary["results"]:
        rss = max(row["peak_rss_mb_self"], row["peak_rss_mb_children"])
        compile_s = f"{row['compile_s']:.1f}" if row["compile_s"] else "—"
        lines.append(
            f"| {names.get(row['backend'], row['backend'])} | {compile_s} | {row['steps_per_s']:,.0f} | {rss:,.0f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
