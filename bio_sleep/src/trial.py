"""One SRC trial (one seed): train the baseline, derive every compared model, evaluate them on the sweeps."""

from __future__ import annotations

import time

import xarray as xr

from bio_sleep.defences import fine_tune
from bio_sleep.evaluation.sweeps import accuracy_sweep
from bio_sleep.models.from_config import train_control
from bio_sleep.sleep.run import sleep_model
from bio_sleep.src.defences import distorted_training_set, feedforward_fitting, gradient_expansion


def run_trial(config, data, trial: int, progress: bool = True) -> tuple[xr.Dataset, dict, dict]:
    """Every model of ``config.models`` for trial ``trial``; returns the accuracy sweep, timings / sleep facts
    and the models by name."""
    seed = config.seed + trial
    shape = data.image_shape
    timings = {}
    start = time.perf_counter()
    baseline = train_control(config, data, seed, progress, description="baseline")
    timings["train_seconds"] = time.perf_counter() - start
    models = {"baseline": baseline}
    wanted = set(config.models)
    fit = dict(
        epochs=config.fff.epochs,
        learning_rate=config.fff.learning_rate,
        training=config.training,
        seed=seed,
        progress=progress,
    )
    if wanted & {"src", "src_fff"}:
        slept = sleep_model(baseline, data.x_train, config.sleep, seed=seed, image_shape=shape, progress=progress)
        timings.update(
            sleep_seconds=slept.simulate_seconds,
            compile_seconds=slept.compile_seconds,
            sleep_spikes=[int(s) for s in slept.recording.spikes_per_step.sum(axis=1)],
        )
        if slept.calibration:  # each trial's network gets its own thresholds for sleep.target_rates
            timings["calibration"] = slept.calibration.report(slept.before)
        models["src"] = slept.model
        if "src_fff" in wanted:
            models["src_fff"] = feedforward_fitting(slept.model, data.x_train, data.y_train, **fit)
    if wanted & {"grad_exp", "grad_exp_fff"}:
        alphas = config.gradient_expansion.alphas[trial % len(config.gradient_expansion.alphas)]
        models["grad_exp"] = gradient_expansion(baseline, alphas)
        if "grad_exp_fff" in wanted:
            models["grad_exp_fff"] = feedforward_fitting(models["grad_exp"], data.x_train, data.y_train, **fit)

    def tuned(levels: dict[str, list[float]]):
        """The baseline fine-tuned on clean data plus distorted copies at ``levels`` (Sec. III-C)."""
        t = config.training
        x_mixed, y_mixed = distorted_training_set(data.x_train, data.y_train, levels, seed=seed, image_shape=shape)
        return fine_tune(
            baseline,
            x_mixed,
            y_mixed,
            epochs=config.finetune.epochs,
            learning_rate=config.finetune.learning_rate,
            momentum=t.momentum,
            batch_size=t.batch_size,
            loss=t.loss,
            seed=seed,
            progress=progress,
            description=f"fine-tune {'+'.join(levels)}",
        )

    if "finetune" in wanted:
        for name, levels in config.finetune.levels.items():
            models[f"finetune_{name}"] = tuned({name: levels})
    if "finetune_all" in wanted:
        models["finetune_all"] = tuned(config.finetune.levels)
    models = {
        name: models[name] for name in models if name in wanted or name.startswith("finetune_") or name == "baseline"
    }
    results = accuracy_sweep(
        models,
        data.x_test,
        data.y_test,
        config.evaluation.sweeps,
        seed=seed,
        image_shape=shape,
        batch_size=config.evaluation.batch_size,
        progress=progress,
    )
    timings["total_seconds"] = time.perf_counter() - start
    return results.expand_dims(trial=[trial]), timings, models
