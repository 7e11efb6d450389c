"""Time Figure 1's FGSM accuracy curve: one gradient for every eta (``fgsm_accuracy_curve``) against ART's
``FastGradientMethod`` called once per eta, which recomputes the same gradient 40 times, and check that both give
the same accuracies.

The network is a 784-1200-1200-10 bias-free ReLU network with torch's default initialisation (the work per eta
does not depend on training), the inputs uniform in [0, 1], the eta grid ``FGSMParams``' default (41 points).

    python benchmarks/fgsm_curve_speed.py --core 1 --out benchmarks/results/fgsm_curve_speed.json --note '...'
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch

from bio_sleep.attacks.classifier import art_classifier
from bio_sleep.attacks.fgsm import fgsm_accuracy_curve
from bio_sleep.attacks.params import FGSMParams
from bio_sleep.models import build_fc
from bio_sleep.run_folder import write_atomic


def art_per_eta(classifier, x: np.ndarray, y: np.ndarray, etas: np.ndarray) -> list[float]:
    """The curve as it was computed before: ART's FGSM run anew for each eta."""
    from art.attacks.evasion import FastGradientMethod

    targets = np.eye(classifier.nb_classes, dtype=np.float32)[y]
    accuracy = []
    for eta in etas:
        images = x if eta == 0 else FastGradientMethod(classifier, eps=float(eta), batch_size=256).generate(x, targets)
        accuracy.append(float((classifier.predict(images).argmax(axis=1) == y).mean()))
    return accuracy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10_000, help="images on the curve (MNIST's test set: 10,000)")
    parser.add_argument("--core", type=int, help="pin to this CPU core")
    parser.add_argument("--out", type=Path, help="write the timings here as JSON")
    parser.add_argument("--note", default="", help="the conditions of the run, e.g. what else ran on the core")
    args = parser.parse_args()
    if args.core is not None:
        os.sched_setaffinity(0, {args.core})
        torch.set_num_threads(1)
    torch.manual_seed(0)
    model = build_fc([784, 1200, 1200, 10], output="linear")
    x = np.random.default_rng(0).random((args.samples, 784), dtype=np.float32)
    y = np.arange(args.samples) % 10
    classifier = art_classifier(model, 784, 10, (0.0, 1.0))
    start = time.perf_counter()
    etas, one_gradient = fgsm_accuracy_curve(classifier, x, y, FGSMParams(), progress=False)
    one_gradient_s = time.perf_counter() - start
    start = time.perf_counter()
    per_eta = art_per_eta(classifier, x, y, etas)
    per_eta_s = time.perf_counter() - start
    result = {
        "samples": args.samples,
        "etas": len(etas),
        "one_gradient_s": round(one_gradient_s, 2),
        "art_per_eta_s": round(per_eta_s, 2),
        "speed_up": round(per_eta_s / one_gradient_s, 2),
        "accuracies_equal": bool(np.array_equal(one_gradient, per_eta)),
        "machine": platform.machine(),
        "threads": torch.get_num_threads(),
        "note": args.note,
    }
    print(json.dumps(result, indent=2))
    if args.out:
        write_atomic(args.out, lambda path: path.write_text(json.dumps(result, indent=2) + "\n"))


if __name__ == "__main__":
    main()
