"""The networks the study compares: control, distilled, fine-tuned (per attack / distortion) and slept."""

from __future__ import annotations

import numpy as np
import torch

from bio_sleep.attacks import run_attack
from bio_sleep.defences import distill, fine_tune, mixed_training_set
from bio_sleep.evaluation import distort, sweeps_from_config
from bio_sleep.sleep import sleep_model


def distilled(config, control, data, seed: int, progress: bool):
    d, t = config.defences.distillation, config.training
    m = config.model
    init, init_range = ("uniform", config.study.init_range) if config.study.init_range else (m.init, m.init_range)
    return distill(
        control,
        data.x_train,
        data.y_train,
        temperature=d.temperature,
        epochs=d.epochs or t.epochs,
        learning_rate=t.learning_rate,
        momentum=t.momentum,
        batch_size=t.batch_size,
        n_classes=data.n_classes,
        seed=seed,
        init=init,
        init_range=init_range,
        student_init=d.student_init,
        scale_learning_rate=d.scale_learning_rate,
        progress=progress,
        device=t.device,
    )


def slept(config, control, data, seed: int, progress: bool, attack: str | None = None):
    sleep_config = config.sleep_for(attack) if attack else config.sleep
    return sleep_model(
        control, data.x_train, sleep_config, seed=seed, image_shape=data.image_shape, progress=progress
    ).model


def _tune(config, control, data, x_perturbed, y_perturbed, seed, progress):
    f, t = config.defences.fine_tuning, config.training
    x_mixed, y_mixed = mixed_training_set(data.x_train, data.y_train, x_perturbed, y_perturbed)
    return fine_tune(
        control,
        x_mixed,
        y_mixed,
        epochs=f.epochs,
        learning_rate=f.learning_rate,
        momentum=t.momentum,
        batch_size=t.batch_size,
        loss=t.loss,
        n_classes=data.n_classes,
        seed=seed,
        progress=progress,
        device=t.device,
    )


def fine_tuned_on_attack(config, control, data, attack: str, clip, seed: int, progress: bool):
    """Control fine-tuned on its training inputs plus adversarial copies of the first N (successful ones only)."""
    n = min(config.defences.fine_tuning.adversarial_samples.get(attack, 1000), len(data.x_train))
    result = run_attack(
        attack,
        control,
        data.x_train[:n],
        data.y_train[:n],
        n_classes=data.n_classes,
        params=getattr(config.attacks, attack),
        clip=clip,
        seed=seed,
        progress=progress,
        keep_adversarial=True,
        workers=config.attacks.workers,
        device=config.training.device,
    )
    keep = result.success.values
    x_perturbed = torch.from_numpy(result.adversarial.values[keep]).float()
    return _tune(config, control, data, x_perturbed, data.y_train[:n][torch.from_numpy(keep)], seed, progress)


def fine_tuned_on_distortion(config, control, data, distortion: str, seed: int, progress: bool):
    """Control fine-tuned on its training inputs plus a copy distorted at the sweep's levels, in equal shares."""
    levels = [v for v in sweeps_from_config(config.evaluation, data.image_shape)[distortion] if v > 0]
    # A training set smaller than the number of levels (Patches: 4 images) is repeated so every level gets images.
    repeats = -(-len(levels) // len(data.x_train))
    groups = np.array_split(np.tile(np.arange(len(data.x_train)), repeats), len(levels))
    x_perturbed = torch.cat(
        [
            distort(data.x_train[g], distortion, level, seed=seed + i, image_shape=data.image_shape)
            for i, (g, level) in enumerate(zip(groups, levels))
        ]
    )
    return _tune(config, control, data, x_perturbed, data.y_train[np.concatenate(groups)], seed, progress)
