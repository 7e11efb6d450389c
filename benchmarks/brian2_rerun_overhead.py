"""The Brian2 overhead of a sleep in a new process once the architecture is compiled (issue 14's "second run").

For each architecture, one process compiles the network into a fresh cache; then ``--repeats`` new processes each
run a one-step sleep on it with new weights. A one-step run is all overhead: writing the values, starting the
binary (which creates the synapses and, at exit, writes its arrays), reading the results back. Reported per run:
the wall time of ``bio_sleep.sleep.run.simulate`` and of the binary alone; the compile time of the first process.

    python benchmarks/brian2_rerun_overhead.py --core 1 --out benchmarks/results/brian2_rerun_overhead.json

Without ``--out`` the results are only printed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ARCHITECTURES = {"patches": (100, 4), "mnist": (784, 1200, 1200, 10)}


def measure(sizes: tuple[int, ...], seed: int) -> dict:
    """One one-step sleep in this process: simulate()'s wall time, the binary's, and any compile time."""
    import numpy as np

    import bio_sleep.sleep.brian2_cache as cache
    from bio_sleep.config import SleepConfig
    from bio_sleep.converters import SleepDynamics, SpikingNetwork
    from bio_sleep.sleep.run import simulate

    binary = []
    run = cache.subprocess.run

    def timed(command, *args, **kwargs):
        start = time.perf_counter()
        done = run(command, *args, **kwargs)
        if command[0] == "./main":
            binary.append(time.perf_counter() - start)
        return done

    cache.subprocess.run = timed
    rng = np.random.default_rng(seed)
    weights = tuple(rng.normal(0.0, 0.05, (n_post, n_pre)) for n_pre, n_post in zip(sizes[:-1], sizes[1:]))
    layers = len(sizes) - 1
    network = SpikingNetwork(weights, (1.0,) * layers, (1.0,) * layers)
    raster = rng.random((1, sizes[0])) < 0.01
    config = SleepConfig(steps=1, thresholds=[1.0] * layers, threads=1, backend="brian2")
    start = time.perf_counter()
    _, _, compile_seconds = simulate(network, SleepDynamics(0.99, 1e-3, 1e-3), raster, config, progress=False)
    return {
        "simulate_s": round(time.perf_counter() - start, 3),
        "binary_s": round(binary[-1], 3),
        "compile_s": round(compile_seconds, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5, help="new processes per architecture after the compile")
    parser.add_argument("--core", type=int, help="pin every process to this CPU")
    parser.add_argument("--out", type=Path, help="write the results to this JSON file")
    parser.add_argument("--note", help="a remark on the conditions, kept in the JSON (e.g. what else ran)")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        name, seed = args.child
        print(json.dumps(measure(ARCHITECTURES[name], int(seed))))
        return
    pin = ["taskset", "-c", str(args.core)] if args.core is not None else []
    summary = {"repeats": args.repeats} | ({"note": args.note} if args.note else {})
    for name, sizes in ARCHITECTURES.items():
        with tempfile.TemporaryDirectory() as cache:
            env = {**os.environ, "BIO_SLEEP_CACHE": cache, "OMP_NUM_THREADS": "1"}
            runs = []
            for seed in range(args.repeats + 1):  # the first process compiles
                output = subprocess.run(
                    [*pin, sys.executable, __file__, "--child", name, str(seed)],
                    env=env,
                    capture_output=True,
                    text=True,
                    check=True,
                )
                runs.append(json.loads(output.stdout.strip().splitlines()[-1]))
                print(name, runs[-1], flush=True)
        later = runs[1:]
        summary[name] = {
            "sizes": sizes,
            "compile_s": runs[0]["compile_s"],
            "first_process_simulate_s": runs[0]["simulate_s"],
            "new_process_simulate_s": [r["simulate_s"] for r in later],
            "new_process_binary_s": [r["binary_s"] for r in later],
            "new_process_compiles": sum(r["compile_s"] > 0 for r in later),
        }
    text = json.dumps(summary, indent=1)
    print(text)
    if args.out:
        from bio_sleep.run_folder import write_atomic

        write_atomic(args.out, lambda path: path.write_text(text + "\n"))


if __name__ == "__main__":
    main()
