"""Time each attack on a small MNIST subset against a briefly trained 784-1200-1200-10 network.

    python experiments/robustness_time_attacks.py [n_images] [boundary_images] [out.csv] [data_root] [workers]

Boundary runs on fewer images (it attacks one image at a time at 1000 iterations); every time is also
extrapolated linearly to 1000 images (attacks treat images independently, batching aside). ``workers``
processes share Boundary's images; pin single-core timings with ``OMP_NUM_THREADS=1 taskset -c 0``.
"""

import csv
import sys
import time

import torch

from bio_sleep.attacks import run_attack
from bio_sleep.config import DataConfig
from bio_sleep.data import load_dataset
from bio_sleep.models import accuracy, build_fc, train

if __name__ == "__main__":
    n_images = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    boundary_images = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    out = sys.argv[3] if len(sys.argv) > 3 else "attack_times.csv"
    workers = int(sys.argv[5]) if len(sys.argv) > 5 else 1
    torch.manual_seed(0)
    data = load_dataset(DataConfig(dataset="mnist", root=sys.argv[4] if len(sys.argv) > 4 else "", train_samples=10000))
    # Brief training (1 epoch on 10,000 images): torch's default init and logits with cross-entropy learn in one
    # epoch, the authors' U(-0.01, 0.01) + ReLU/MSE set-up stays at chance that briefly (measured: 9.8 %).
    model = build_fc([784, 1200, 1200, 10], dropout=0.2, output="linear")
    train(
        model,
        data.x_train,
        data.y_train,
        epochs=1,
        learning_rate=0.1,
        momentum=0.5,
        batch_size=100,
        loss="cross_entropy",
        progress=False,
    )
    print(f"control accuracy on 10000 test images: {accuracy(model, data.x_test, data.y_test):.4f}")
    rows = []
    for name in ("fgsm", "deepfool", "jsma", "boundary"):
        n = boundary_images if name == "boundary" else n_images
        start = time.perf_counter()
        result = run_attack(
            name, model, data.x_test[:n], data.y_test[:n], n_classes=10, progress=False, workers=workers
        )
        seconds = time.perf_counter() - start
        row = {
            "attack": name,
            "images": n,
            "correct": result.attrs["n_correct"],
            "seconds": round(seconds, 2),
            "seconds_per_1000_images": round(seconds / n * 1000, 1),
            "score": result.attrs["score"],
            "success_rate": result.attrs["success_rate"],
        }
        rows.append(row)
        print(row, flush=True)
    with open(out, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    total = sum(r["seconds_per_1000_images"] for r in rows)
    print(f"all four, extrapolated to 1000 images: {total / 60:.1f} min")
