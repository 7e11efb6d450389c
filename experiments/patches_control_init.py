"""Which Table 1 set-up gives the paper's Patches control? FGSM median eta of the control and its clean accuracy
over seeds, for training-set copies x initialisation x output activation (the authors' Patches script is not
public; their MNIST scripts rescale nnsetup's weights to U(-0.01, 0.01)).

    python experiments/patches_control_init.py experiments/results/patches_control_init   # ~5 min on one core

Writes control_init.csv (one row per set-up and seed), control_init.md (medians over seeds) and the config used.
"""

from __future__ import annotations

import argparse
import csv
import io
import itertools
from pathlib import Path

import numpy as np

from bio_sleep.attacks import run_attack
from bio_sleep.config import config_to_toml, with_overrides
from bio_sleep.models import accuracy
from bio_sleep.models.from_config import train_control
from bio_sleep.robustness import load_robustness_config
from bio_sleep.robustness.study import prepare
from bio_sleep.run_folder import RunFolder

CONFIG = Path(__file__).with_name("robustness_patches.toml")
COPIES = (25, 250, 1000)
INITS = ("deeplearntoolbox", "uniform")
OUTPUTS = ("linear", "relu")
SEEDS = range(5)


def plot(rows: list[dict], path: Path) -> None:
    """Per-seed FGSM eta of each set-up (seeds that misclassify all four images have none), paper control dashed."""
    import matplotlib.pyplot as plt

    from bio_sleep.plotting import save_figure

    setups = list(itertools.product(COPIES, INITS, OUTPUTS))
    figure, axis = plt.subplots(figsize=(11, 4.5))
    for i, setup in enumerate(setups):
        etas = [r["fgsm_median_eta"] for r in rows if (r["copies"], r["init"], r["output"]) == setup]
        axis.plot([i] * len(etas), etas, "o", alpha=0.6, color="C0" if setup[1] == "deeplearntoolbox" else "C1")
    axis.axhline(0.0175, color="k", linestyle="--", label="paper's control (0.0175)")
    names = {"deeplearntoolbox": "nnsetup", "uniform": "U(±0.01)"}
    axis.set_xticks(range(len(setups)), [f"{c} copies\n{names[i]}\n{o} output" for c, i, o in setups], fontsize=7)
    axis.set_yscale("log")
    axis.set_ylabel("FGSM median smallest flipping eta")
    axis.set_title(
        "Patches control after Table 1 training (lr 0.1, momentum 0.5, 1 epoch): one point per seed", fontsize=10
    )
    axis.legend(loc="lower right")
    save_figure(figure, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    folder = parser.parse_args().out
    base = load_robustness_config(CONFIG)
    identity = {"script": "patches_control_init", "config": config_to_toml(base)}
    # recompute: every file is written afresh (nothing is reused), so files of older code are simply replaced.
    with RunFolder(folder, identity, "config", stale="recompute") as run:
        rows = measure(base)
        run.write_text("config.toml", config_to_toml(base))
        table = io.StringIO()
        writer = csv.DictWriter(table, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
        run.write_text("control_init.csv", table.getvalue())
        lines = markdown(rows)
        run.write_text("control_init.md", "\n".join(lines) + "\n")
        run.write("control_init.png", lambda path: plot(rows, path))
    print("\n".join(lines))


def measure(base) -> list[dict]:
    """One row per set-up and seed."""
    rows = []
    for copies, init, output in itertools.product(COPIES, INITS, OUTPUTS):
        config = with_overrides(
            base, {"data": {"patches_train_copies": copies}, "model": {"init": init, "output": output}}
        )
        data, clip = prepare(config)
        for seed in SEEDS:
            model = train_control(config, data, seed, progress=False)
            fgsm = run_attack(
                "fgsm",
                model,
                data.x_test[:4],
                data.y_test[:4],
                n_classes=4,
                params=config.attacks.fgsm,
                clip=clip,
                seed=seed,
                progress=False,
            )
            rows.append(
                {
                    "copies": copies,
                    "sgd_steps": copies * 4 // config.training.batch_size,
                    "init": init,
                    "output": output,
                    "seed": seed,
                    "clean_accuracy": accuracy(model, data.x_test, data.y_test),
                    "fgsm_median_eta": fgsm.attrs["score"],
                    "images_correct": fgsm.attrs["n_correct"],
                }
            )
            print(rows[-1], flush=True)
    return rows


def markdown(rows: list[dict]) -> list[str]:
    """Medians over seeds per set-up."""
    lines = [
        "| copies (SGD steps) | init | output | clean accuracy, mean over seeds | seeds at 100 % | FGSM median eta, "
        "median over seeds (paper control 0.0175) |",
        "|---|---|---|---|---|---|",
    ]
    for copies, init, output in itertools.product(COPIES, INITS, OUTPUTS):
        group = [r for r in rows if (r["copies"], r["init"], r["output"]) == (copies, init, output)]
        clean = [r["clean_accuracy"] for r in group]
        eta = np.nanmedian([r["fgsm_median_eta"] for r in group])
        lines.append(
            f"| {copies} ({group[0]['sgd_steps']}) | {init} | {output} | {np.mean(clean):.2f} | "
            f"{sum(c == 1.0 for c in clean)}/{len(clean)} | {eta:.4f} |"
        )
    return lines


if __name__ == "__main__":
    main()
