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

Each backend is measured on one core (``--core``, ``sleep.threads = 1``) and,
unless ``--one-core-only``, on every CPU the process may use with as many
threads (on a shared machine the other cores may be busy: the JSON says so).
Reports, per backend: compile seconds (code generation and compilation),
steps per second of a rerun with new parameter values (its overhead
included) by the wall clock and per CPU second (this process and its
children: what the sleep itself used, whatever else the machine runs), the
CPU nanoseconds per impulse event (one presynaptic spike reaching one
synapse), peak resident memory, and the per-layer firing fractions.
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


def _cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def measure(backend: str, steps: int, threads: int) -> dict:
    """Run in this process: two sleeps (the second with new values) on one backend."""
    import dataclasses

    from bio_sleep.config import SleepConfig

    network, dynamics, raster = network_and_input(steps)
    options = {
        "torch": dict(backend="torch"),
        "torch_float32": dict(backend="torch", torch_dtype="float32"),
        "cpp_standalone": dict(backend="brian2", brian2_target="cpp_standalone"),
        "cython": dict(backend="brian2", brian2_target="cython"),
    }[backend]
    config = SleepConfig(steps=steps, thresholds=list(THRESHOLDS), threads=threads, **options)
    from bio_sleep.sleep.run import simulate

    start = time.perf_counter()
    _, recording, compile_seconds = simulate(network, dynamics, raster, config, progress=False)
    first = time.perf_counter() - start
    changed = dataclasses.replace(dynamics, decay=0.985, inc=2e-6)
    start, cpu_start = time.perf_counter(), _cpu_seconds()
    _, _, recompile = simulate(network, changed, raster, config, progress=False)
    second, cpu = time.perf_counter() - start, _cpu_seconds() - cpu_start
    fractions = recording.firing_fraction()
    impulses = sum(fractions[k] * SIZES[k] * SIZES[k + 1] for k in range(len(SIZES) - 1))
    return {
        "backend": backend,
        "threads": threads,
        "steps": steps,
        "compile_s": round(compile_seconds, 2),
        "first_run_s": round(first, 2),
        "second_run_new_values_s": round(second, 2),
        "second_run_compile_s": round(recompile, 2),
        # From the second run, reuse overhead (writing values, starting the binary, reading results) included.
        "steps_per_s": round(steps / second, 1),
        "steps_per_cpu_s": round(steps / cpu, 1),
        "impulse_events_per_step": round(float(impulses)),
        "ns_per_impulse_event": round(cpu / steps / impulses * 1e9, 2),  # per CPU second
        "firing_fraction_per_layer": [round(float(f), 4) for f in fractions],
        "peak_rss_mb_self": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "peak_rss_mb_children": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=10000)
    parser.add_argument("--backends", nargs="+", default=["cpp_standalone", "cython", "torch", "torch_float32"])
    parser.add_argument("--core", type=int, default=1, help="the CPU of the one-core runs")
    parser.add_argument("--one-core-only", action="store_true", help="skip the runs on every CPU")
    parser.add_argument("--out", type=Path, help="write the results to this JSON file")
    parser.add_argument("--note", help="a remark on the conditions, kept in the JSON (e.g. what else ran)")
    parser.add_argument("--table", type=Path, help="print the markdown table of a results JSON and exit")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--cpus", type=int, nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        os.sched_setaffinity(0, args.cpus)
        print(json.dumps(measure(args.child, args.steps, len(args.cpus))))
        return
    if args.table:
        print(markdown_table(json.loads(args.table.read_text())))
        return
    every = sorted(os.sched_getaffinity(0))
    settings = {"one_core": [args.core]} | ({} if args.one_core_only or len(every) == 1 else {"all_cores": every})
    summary = {"sizes": SIZES, "cpus": len(every)} | ({"note": args.note} if args.note else {})
    for setting, cpus in settings.items():
        results = []
        for backend in args.backends:
            with tempfile.TemporaryDirectory() as cache:
                output = subprocess.run(
                    [sys.executable, __file__, "--child", backend, "--steps", str(args.steps), "--cpus"]
                    + [str(c) for c in cpus],
                    capture_output=True,
                    text=True,
                    check=True,
                    env={**os.environ, "BIO_SLEEP_CACHE": cache, "OMP_NUM_THREADS": str(len(cpus))},
                ).stdout
            results.append(json.loads(output.strip().splitlines()[-1]))
            print(json.dumps(results[-1]))
        summary[setting] = {"cpus": cpus, "results": results}
    if "all_cores" in summary:
        summary["all_cores"]["note"] = "the other cores may have been busy with other jobs during these runs"
    print(markdown_table(summary))
    if args.out:
        from bio_sleep.run_folder import write_atomic

        args.out.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(args.out, lambda path: path.write_text(json.dumps(summary, indent=2)))


def markdown_table(summary: dict) -> str:
    """The README's speed table from a results JSON: one-core figures and, where measured, all cores'."""
    names = {
        "cpp_standalone": "Brian2 `cpp_standalone`",
        "cython": "Brian2 `cython`",
        "torch": "torch float64 (exact)",
        "torch_float32": "torch float32",
    }
    one = summary["one_core"]["results"]
    every = {row["backend"]: row for row in summary.get("all_cores", {}).get("results", [])}
    n = len(summary.get("all_cores", {}).get("cpus", []))
    header = "| backend | compile, empty cache (s) | steps/s, 1 core | steps per CPU-s, 1 core | ns per impulse event |"
    header += (f" steps/s, {n} cores |" if every else "") + " peak RSS (MB) |"
    lines = [header, "|---" * (6 + bool(every)) + "|"]
    for row in one:
        rss = max(row["peak_rss_mb_self"], row["peak_rss_mb_children"])
        compile_s = f"{row['compile_s']:.1f}" if row["compile_s"] else "—"
        other = every.get(row["backend"])
        all_cores = (f" {other['steps_per_s']:,.0f} |" if other else " — |") if every else ""
        lines.append(
            f"| {names.get(row['backend'], row['backend'])} | {compile_s} | {row['steps_per_s']:,.0f} "
            f"| {row['steps_per_cpu_s']:,.0f} | {row['ns_per_impulse_event']:.1f} |{all_cores} {rss:,.0f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
