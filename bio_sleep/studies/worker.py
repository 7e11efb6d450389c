"""What a Dask worker does for one point: sleep the control model, evaluate the slept copy.

Everything a worker keeps between points lives in this process: the dataset
(loaded once per data config) and, through ``brian_network_for``, the compiled
Brian2 network of each architecture.
"""

from __future__ import annotations

import functools
import json
import os
import time
import traceback

import numpy as np
import torch


@functools.lru_cache(maxsize=2)
def _dataset(data_config):
    from bio_sleep.data import load_dataset

    return load_dataset(data_config)  # a frozen config: hashable, so cached per data section


def splits(data, validation_samples: int):
    """(x_fit, y_fit) for training and sleep, and the held-out (x_val, y_val) at the end of the training set."""
    cut = len(data.x_train) - validation_samples
    return (data.x_train[:cut], data.y_train[:cut]), (data.x_train[cut:], data.y_train[cut:])


def evaluation_set(data, evaluation):
    fit, validation = splits(data, evaluation.validation_samples)
    x, y = validation if evaluation.split == "validation" else (data.x_test, data.y_test)
    return x[: evaluation.samples], y[: evaluation.samples]


def load_data(experiment):
    return _dataset(experiment.data)


def build_model(experiment, state: dict):
    """The experiment's network holding ``state`` (numpy or torch arrays), in eval mode."""
    from bio_sleep.models import build_model as new_model

    model = new_model(experiment)
    model.load_state_dict({name: torch.as_tensor(value) for name, value in state.items()})
    return model.eval()


def fgsm_metrics(model, x, y, data, evaluation, device: str = "auto") -> dict:
    """fgsm_score and fgsm_success_rate of ``model`` on the first ``evaluation.attack_samples`` of (x, y)."""
    from bio_sleep.attacks import data_range, run_attack

    n = evaluation.attack_samples
    summary = run_attack(
        "fgsm",
        model,
        x[:n],
        y[:n],
        n_classes=data.n_classes,
        params=evaluation.fgsm,
        clip=data_range(data),
        seed=evaluation.seed,
        progress=False,
        device=device,
    ).attrs
    return {"fgsm_score": float(summary["score"]), "fgsm_success_rate": float(summary["success_rate"])}


def score(model, data, evaluation, device: str = "auto") -> dict:
    """accuracy_clean, accuracy_<distortion> (a list over its levels), their mean over all distorted levels,
    and with ``evaluation.attack`` the FGSM metrics, all on the same split, computed on ``device``."""
    from bio_sleep.evaluation import accuracy_sweep

    x, y = evaluation_set(data, evaluation)
    sweep = accuracy_sweep(
        {"model": model},
        x,
        y,
        dict(evaluation.distortions),
        seed=evaluation.seed,
        image_shape=data.image_shape,
        progress=False,
        device=device,
    )
    metrics = {"accuracy_clean": float(sweep["accuracy_clean"].item())}
    distorted = []
    for name in evaluation.distortions:
        values = [float(v) for v in sweep[f"accuracy_{name}"].values[0]]
        metrics[f"accuracy_{name}"] = values
        distorted += values
    metrics["mean_distorted_accuracy"] = float(np.mean(distorted)) if distorted else float("nan")
    if evaluation.attack == "fgsm":
        metrics.update(fgsm_metrics(model, x, y, data, evaluation, device))
    return metrics


def run_point(experiment_json: str, evaluation_json: str, state: dict, point: dict) -> dict:
    """Sleep + evaluation of one point; never raises: a failure comes back as a record with its error."""
    from bio_sleep.studies.config import EXPERIMENT_ADAPTER, StudyEvaluation, apply_point

    start = time.perf_counter()
    record = {"point": point, "pid": os.getpid()}
    try:
        from bio_sleep.sleep import sleep_model

        experiment = apply_point(EXPERIMENT_ADAPTER.validate_json(experiment_json), point)
        evaluation = StudyEvaluation.model_validate_json(evaluation_json)
        data = load_data(experiment)
        (x_fit, _), _ = splits(data, evaluation.validation_samples)
        result = sleep_model(
            build_model(experiment, state),
            x_fit,
            experiment.sleep,
            seed=experiment.seed,
            image_shape=data.image_shape,
            progress=False,
        )
        record["metrics"] = score(result.model, data, evaluation, experiment.training.device)
        report = result.recording.layer_report()
        record["metrics"]["firing_fraction"] = [row["fraction_per_step"] for row in report]
        record.update(status="ok", simulate_seconds=result.simulate_seconds, compile_seconds=result.compile_seconds)
    except Exception as error:  # recorded, not raised: one bad point must not stop the study
        record.update(
            status="failed", error=f"{type(error).__name__}: {error}", traceback=traceback.format_exc(limit=5)
        )
    record["seconds"] = time.perf_counter() - start
    return json.loads(json.dumps(record))
