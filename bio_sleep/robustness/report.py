"""The study's markdown table (with the paper's numbers beside ours) and its figures."""

from __future__ import annotations

import numpy as np

from bio_sleep.evaluation import plot_accuracy_sweep
from bio_sleep.plotting import DPI, model_name, save_figure

COLUMNS = {"control": "Control", "distillation": "Distillation", "fine_tuning": "Fine-tuning", "sleep": "Sleep"}
ROWS = {"fgsm": "FGSM", "deepfool": "DeepFool", "jsma": "JSMA", "boundary": "Boundary"}
# ICLR 2020 paper, Section 5 (score, success rate %); the MNIST main table is not in our copy of the paper's text,
# only its Table 3 (Boundary with the L2 threshold).
PAPER = {
    "patches": {
        "fgsm": [(0.0175, None), (0.05, None), (0.1425, None), (0.2025, None)],
        "deepfool": [(0.0440, 95.0), (0.0360, 90.0), (0.0201, 100.0), (0.0124, 100.0)],
        "jsma": [(0.0049, 80.0), (0.0135, 70.0), (0.0450, 100.0), (0.0541, 100.0)],
        "boundary": [(0.2971, None), (0.3124, None), (0.1772, None), (0.3515, None)],
    },
    "cub200": {
        "fgsm": [(0.0550, None), (0.0500, None), (0.0650, None), (0.0600, None)],
        "deepfool": [(0.0027, 82.23), (0.0019, 84.16), (0.0044, 83.02), (0.0025, 83.12)],
        "jsma": [(0.0477, 95.56), (0.0347, 95.88), (0.0530, 95.38), (0.0439, 95.15)],
        "boundary": [(0.9751, None), (0.9034, None), (0.9976, None), (0.9967, None)],
    },
    "mnist_table3": [0.0073, 0.0074, 0.0047, 0.0094],
}


def _stat(values: np.ndarray, percent: bool = False) -> str:
    values = values[~np.isnan(values)] * (100 if percent else 1)
    if not len(values):
        return "–" if not percent else "–%"
    fmt = "{:.1f}" if percent else "{:.4g}"
    text = fmt.format(values.mean())
    if not np.isfinite(values).all():
        return f"inf in {int((~np.isfinite(values)).sum())}/{len(values)} seeds"
    if len(values) > 1:
        text += " ± " + fmt.format(values.std(ddof=1))
    return text + ("%" if percent else "")


def _paper_cell(table: str | None, attack: str, column: int) -> str:
    if table not in PAPER or attack not in PAPER[table]:
        return ""
    score, rate = PAPER[table][attack][column]
    return f" · paper {score:g}" + (f" ({rate:g}%)" if rate is not None else "")


def markdown_table(config, summary, seconds: float) -> str:
    table = config.study.paper_table
    counts = ", ".join(f"{ROWS[str(a)]} {int(n)}" for a, n in zip(summary.attack.values, summary.samples.values))
    lines = [
        f"# {config.name}: adversarial robustness (ICLR 2020 paper, Section 5)",
        "",
        f"Seeds: {[int(s) for s in summary.seed.values]} (mean ± sd when more than one); attacked test samples "
        f"(the first N): {counts}; total time {seconds:.0f} s.",
        "",
        "Cells: score (attack success rate over correctly classified samples). FGSM score: median smallest "
        "flipping eta (inf: more than eta_max); others: median ||x' − x||²/N.",
        "",
        "| Attack | " + " | ".join(COLUMNS.values()) + " |",
        "|---" * (len(COLUMNS) + 1) + "|",
    ]
    for attack in summary.attack.values:
        cells = []
        for column, network in enumerate(COLUMNS):
            cell = summary.sel(attack=attack, network=network)
            cells.append(
                f"{_stat(cell.score.values)} ({_stat(cell.success_rate.values, True)})"
                + _paper_cell(table, attack, column)
            )
        lines.append(f"| {ROWS[str(attack)]} | " + " | ".join(cells) + " |")
    if "boundary" in summary.attack.values:
        lines += [
            "",
            f"Boundary, success only if L2 ≤ {config.attacks.boundary.success_l2} (Table 3): "
            "median ||x' − x||²/N over those successes (success rate).",
            "",
            "| | " + " | ".join(COLUMNS.values()) + " |",
            "|---" * (len(COLUMNS) + 1) + "|",
        ]
        cells = []
        for column, network in enumerate(COLUMNS):
            cell = summary.sel(attack="boundary", network=network)
            paper = f" · paper {PAPER['mnist_table3'][column]}" if table == "mnist" else ""
            cells.append(
                f"{_stat(cell.score_within_l2.values)} ({_stat(cell.success_rate_within_l2.values, True)}){paper}"
            )
        lines.append("| Boundary | " + " | ".join(cells) + " |")
        if table == "mnist":
            lines += [
                "",
                "Note: the paper's Table 3 values exceed 1/784 = 0.0013, the largest ||x' − x||²/N an "
                "attack with L2 ≤ 1 can have on MNIST, so they cannot be that quantity; compare with care.",
            ]
    lines += [
        "",
        "Attack time per network (s, mean over seeds): "
        + "; ".join(
            f"{ROWS[str(a)]}: "
            + ", ".join(f"{COLUMNS[n]} {float(summary.seconds.sel(attack=a, network=n).mean()):.1f}" for n in COLUMNS)
            for a in summary.attack.values
        ),
    ]
    return "\n".join(lines) + "\n"


def plot_fgsm_curve(curve, path) -> None:
    """Figure 1: accuracy (%) against FGSM η, a line per network (mean over seeds)."""
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6.5, 3.8))
    for network in curve.network.values:
        axis.plot(curve.eta, 100 * curve.fgsm_accuracy.sel(network=network).mean("seed"), label=model_name(network))
    axis.set(
        xlabel="FGSM η (max change per pixel)",
        ylabel="accuracy (%)",
        ylim=(0, 101),
        title=f"FGSM, mean over {curve.sizes['seed']} seed(s)",
    )
    axis.grid(alpha=0.3)
    axis.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    save_figure(figure, path)


def plot_per_class(per_class, path) -> None:
    """Figure 8B-C: mean FGSM eta per class, output scores per class before and after sleep."""
    import matplotlib.pyplot as plt

    has_eta = "fgsm_eta_mean" in per_class
    figure, axes = plt.subplots(1, 2 + has_eta, figsize=(4.5 * (2 + has_eta), 4.4), squeeze=False, layout="constrained")
    axes = list(axes[0])
    if has_eta:
        eta = per_class.fgsm_eta_mean.mean("seed")
        width = 0.8 / len(eta.network)
        for index, network in enumerate(eta.network.values):
            axes[0].bar(
                eta["class"] + (index - (len(eta.network) - 1) / 2) * width,
                eta.sel(network=network),
                width,
                label=model_name(network),
            )
        axes[0].set(
            xlabel="class",
            ylabel="mean smallest flipping FGSM η",
            title="B: FGSM η per class",
            xticks=eta["class"].values,
        )
        axes[0].legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, frameon=False)
        axes = axes[1:]
    scores = per_class.output_scores.mean("seed")
    vmax = float(scores.max())
    for axis, stage in zip(axes, scores.stage.values):
        image = axis.imshow(scores.sel(stage=stage), vmin=float(min(scores.min(), 0)), vmax=vmax, cmap="viridis")
        axis.set(
            xlabel="output unit",
            ylabel="true class",
            title=f"C: output scores {str(stage).replace('_', ' ')}",
            xticks=scores.output_unit.values,
            yticks=scores["class"].values,
        )
    figure.colorbar(image, ax=axes, label="mean output score")
    figure.savefig(path, dpi=DPI)
    plt.close(figure)


def write_report(config, results: dict, folder, seconds: float) -> None:
    """table.md and the figures, written into the run folder (a ``bio_sleep.run_folder.RunFolder``)."""
    folder.write_text("table.md", markdown_table(config, results["summary"], seconds))
    sweeps = results["sweeps"].mean("seed")
    folder.write(
        "distortions.png",
        lambda p: plot_accuracy_sweep(sweeps, p, title=f"{config.name}: accuracy under distortions (Fig. 2/5)"),
    )
    if "fgsm_curve" in results:
        folder.write("fgsm_accuracy.png", lambda p: plot_fgsm_curve(results["fgsm_curve"], p))
    folder.write("per_class.png", lambda p: plot_per_class(results["per_class"], p))
