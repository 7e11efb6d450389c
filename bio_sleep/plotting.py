"""What every figure shares: axis labels that name the quantity and its unit, model names, resolution, saving.

Plotting modules import pyplot only inside their functions and never switch
matplotlib's backend: on a machine without a display pyplot falls back to Agg
by itself, and a notebook keeps its own.
"""

from __future__ import annotations

from pathlib import Path

# Resolution of every saved figure: sharp enough for a slide or a paper draft.
DPI = 150

# The intensity axis of each distortion (see bio_sleep.evaluation.distortions for how each is applied).
DISTORTION_AXES = {
    "gaussian_noise": "Gaussian noise variance",
    "gaussian_blur": "Gaussian blur σ (pixels)",
    "salt_and_pepper": "salt & pepper: fraction of pixels",
    "speckle": "speckle noise variance",
}

DISTORTION_NAMES = {
    "gaussian_noise": "Gaussian noise",
    "gaussian_blur": "Gaussian blur",
    "salt_and_pepper": "salt & pepper",
    "speckle": "speckle noise",
}

MODEL_NAMES = {
    "control": "control (no sleep)",
    "sleep": "after sleep",
    "distillation": "defensive distillation",
    "fine_tuning": "fine-tuned",
    "baseline": "baseline",
    "src": "SRC",
    "src_fff": "SRC + FFF",
    "grad_exp": "gradient expansion",
    "grad_exp_fff": "gradient expansion + FFF",
    "finetune_all": "fine-tuned on all",
}


def distortion_axis(name: str) -> str:
    return DISTORTION_AXES.get(name, name.replace("_", " "))


def distortion_name(name: str) -> str:
    return DISTORTION_NAMES.get(name, name.replace("_", " "))


def model_name(name: str) -> str:
    """A model's name for a legend: ``finetune_gaussian_noise`` becomes 'fine-tuned on Gaussian noise'."""
    name = str(name)
    for prefix in ("finetune_", "fine_tuning_"):
        if name.startswith(prefix) and name != "finetune_all":
            return f"fine-tuned on {distortion_name(name.removeprefix(prefix))}"
    return MODEL_NAMES.get(name, name.replace("_", " "))


def save_figure(figure, path, rect=(0, 0, 1, 1)) -> Path:
    """Lay out within ``rect`` (figure fractions: room for a legend below), save at ``DPI``, close; returns the path."""
    import matplotlib.pyplot as plt

    figure.tight_layout(rect=rect)
    figure.savefig(path, dpi=DPI)
    plt.close(figure)
    return Path(path)
