"""Time the compiled STDP weight factor against the C library's exp: the price of cross-CPU exactness.

The factor f(w) = 2 (1 - sigmoid(w / 0.001)) runs once per STDP event (about
65,000 per step in ``sleep_speed.py``'s network), so its cost per call bounds
the Brian2 STDP pathway. This compiles ``equations.weight_factor.CPP_CODE``
with the flags Brian2 gets and, in the same program, the same sigmoid with
libm's ``exp``, and times 66,000 calls x 1,000 rounds of each on two weight
distributions: N(0, 0.05) (the benchmark network; about 42 % of its weights
have |w| >= 0.04, where f saturates) and U(-0.01, 0.01) (a trained MNIST
network's range, no saturation).

    python benchmarks/weight_factor_speed.py --core 1 --out benchmarks/results/weight_factor_speed.json
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import tempfile
from pathlib import Path

from bio_sleep.equations.weight_factor import CPP_CODE, CPP_HEADERS, FACTOR_WIDTH
from bio_sleep.sleep.brian2_network import COMPILE_ARGS

PROGRAM = r"""
#include <chrono>
#include <cstdio>
#include <random>
#include <vector>

static double libm_factor(double w) { return 2.0 * (1.0 - 1.0 / (1.0 + std::exp(-w / %WIDTH%))); }

template <class F> static double ns_per_call(const std::vector<double>& w, F f, double* sink) {
    double total = 0.0;
    const auto start = std::chrono::steady_clock::now();
    for (int round = 0; round < 1000; ++round)
        for (size_t i = 0; i < w.size(); ++i)
            total += f(w[i] + round * 1e-9);  // a new input each round, so nothing is hoisted
    const auto end = std::chrono::steady_clock::now();
    *sink += total;
    return std::chrono::duration<double>(end - start).count() / (1000.0 * w.size()) * 1e9;
}

int main() {
    std::mt19937_64 generator(0);
    std::normal_distribution<double> normal(0.0, 0.05);
    std::uniform_real_distribution<double> uniform(-0.01, 0.01);
    std::vector<double> wide(66000), narrow(66000);
    for (auto& w : wide) w = normal(generator);
    for (auto& w : narrow) w = uniform(generator);
    double sink = 0.0;
    std::printf("{\"normal_0.05\": {\"exact_ns\": %.2f, ", ns_per_call(wide, stdp_weight_factor, &sink));
    std::printf("\"libm_exp_ns\": %.2f}, ", ns_per_call(wide, libm_factor, &sink));
    std::printf("\"uniform_0.01\": {\"exact_ns\": %.2f, ", ns_per_call(narrow, stdp_weight_factor, &sink));
    std::printf("\"libm_exp_ns\": %.2f}, \"checksum\": %.6g}\n", ns_per_call(narrow, libm_factor, &sink), sink);
}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--core", type=int, help="pin the timing to this CPU")
    parser.add_argument("--out", type=Path, help="write the results to this JSON file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        source, binary = Path(folder, "factor.cpp"), Path(folder, "factor")
        headers = "".join(f"#include {header}\n" for header in CPP_HEADERS)
        source.write_text(headers + CPP_CODE + PROGRAM.replace("%WIDTH%", repr(FACTOR_WIDTH)))
        subprocess.run(["c++", *COMPILE_ARGS, str(source), "-o", str(binary)], check=True)
        command = [str(binary)] if args.core is None else ["taskset", "-c", str(args.core), str(binary)]
        timings = json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)
    timings.pop("checksum")
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "")
    result = {"cpu": cpu or platform.processor(), "flags": COMPILE_ARGS, "calls_per_distribution": 66_000_000}
    result |= timings
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        from bio_sleep.run_folder import write_atomic

        args.out.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(args.out, lambda path: path.write_text(text + "\n"))


if __name__ == "__main__":
    main()
