"""Benchmark: writing the full spike recording of a long MNIST sleep to netCDF.

    python benchmarks/study_recording_write.py --steps 27105 --hidden-fraction 0.02 --out /tmp/rec.nc

The spike trains are synthetic (Bernoulli per neuron and step) with the
given per-step firing fractions for a 784-1200-1200-10 network, so the file
holds as many spikes as a real sleep with those rates would; running the real
27,105-step sleep is a separate (long) job. Reports spikes, seconds to build
the Dataset and to write it, file size and the peak traced Python memory.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
import tracemalloc

import numpy as np

from bio_sleep.sleep.recording import SleepRecording


def synthetic_recording(sizes, fractions, steps, seed=0) -> SleepRecording:
    rng = np.random.default_rng(seed)
    trains, per_step, counts = [], [], []
    for size, fraction in zip(sizes, fractions):
        n_spikes = rng.binomial(size * steps, fraction)
        flat = np.sort(rng.choice(size * steps, n_spikes, replace=False))
        step, neuron = np.divmod(flat, size)
        trains.append((step.astype(np.int64), neuron.astype(np.int64)))
        per_step.append(np.bincount(step, minlength=steps))
        counts.append(np.bincount(neuron, minlength=size))
    return SleepRecording(tuple(sizes), 0.001, np.stack(per_step), counts, trains)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=27105)
    parser.add_argument("--input-fraction", type=float, default=0.005, help="input spikes per neuron per step")
    parser.add_argument("--hidden-fraction", type=float, default=0.02, help="hidden/output spikes per neuron per step")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    sizes = (784, 1200, 1200, 10)
    recording = synthetic_recording(sizes, (args.input_fraction,) + (args.hidden_fraction,) * 3, args.steps)
    spikes = int(sum(len(t[0]) for t in recording.spike_trains))
    # Timed without tracemalloc (it slows numpy allocation about tenfold); memory measured in a second pass.
    start = time.perf_counter()
    dataset = recording.to_dataset(attrs={"benchmark": "synthetic spikes"})
    built = time.perf_counter()
    dataset.to_netcdf(args.out)
    written = time.perf_counter()
    del dataset
    tracemalloc.start()
    recording.to_dataset().to_netcdf(args.out)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    result = {
        "steps": args.steps,
        "spikes": spikes,
        "to_dataset_seconds": round(built - start, 3),
        "to_netcdf_seconds": round(written - built, 3),
        "total_seconds": round(written - start, 3),
        "file_mb": round(os.path.getsize(args.out) / 1e6, 1),
        "peak_traced_mb_while_writing": round(peak / 1e6, 1),
        "process_max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3, 1),
    }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
