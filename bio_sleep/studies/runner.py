"""Run a study on Dask: points stream to disk as they finish and an interrupted study resumes."""

from __future__ import annotations

import contextlib
import dataclasses
import json
from pathlib import Path

import numpy as np
import xarray as xr
from tqdm.auto import tqdm

from bio_sleep.config import config_to_toml
from bio_sleep.execution import dask_client
from bio_sleep.models import build_model as new_model
from bio_sleep.models import train_control
from bio_sleep.run_folder import RunFolder, load_state_dict, state_dict_matching
from bio_sleep.sleep.recording import layer_names
from bio_sleep.studies.config import StudyConfig
from bio_sleep.studies.worker import build_model, load_data, run_point, score, splits

CONTROL = "control_model.pt"


def control_state(study: StudyConfig, folder: RunFolder, progress: bool = True) -> dict:
    """The trained control network's weights (numpy), trained once and kept in the results folder."""
    experiment = study.experiment
    kept = folder.reuse(CONTROL, load_state_dict, state_dict_matching(new_model(experiment).state_dict()))
    if kept is not None:
        return {k: v.numpy() for k, v in kept.items()}
    data = load_data(experiment)
    (x_fit, y_fit), _ = splits(data, study.evaluation.validation_samples)
    model = train_control(experiment, dataclasses.replace(data, x_train=x_fit, y_train=y_fit), progress=progress)
    folder.write_torch(CONTROL, model.state_dict())
    return {k: v.detach().numpy() for k, v in model.state_dict().items()}


def control_metrics(study, state: dict) -> dict:
    """The control network scored as every point is (same split, distortions and attack): what sleep must beat."""
    experiment = study.experiment
    return score(build_model(experiment, state), load_data(experiment), study.evaluation, experiment.training.device)


def _point_name(index: int) -> str:
    return f"points/point_{index:05d}.json"


def _point_record(path: Path) -> dict:
    record = json.loads(path.read_text())
    if not isinstance(record, dict) or record.get("status") not in ("ok", "failed"):
        raise ValueError("not a point record")
    return record


def finished_points(folder: RunFolder, n_points: int) -> dict[int, dict]:
    """Every complete, readable point record by index; damaged files are moved aside (their points recomputed)."""
    records = {}
    for index in range(n_points):
        record = folder.reuse(_point_name(index), _point_record)
        if record is not None:
            records[index] = record
    return records


def run_points(
    client,
    experiment_json: str,
    evaluation_json: str,
    state: dict,
    points: dict[int, dict],
    on_result,
    bar=None,
) -> None:
    """Submit ``points`` (index -> point) to ``client``; call ``on_result(index, record)`` as each finishes
    and advance ``bar`` (a tqdm, if given)."""
    from dask.distributed import as_completed

    if not points:
        return
    shared_state = client.scatter(state, broadcast=True)
    futures = {
        client.submit(run_point, experiment_json, evaluation_json, shared_state, point, pure=False): index
        for index, point in points.items()
    }
    for future in as_completed(futures):
        index = futures[future]
        try:
            record = future.result()
        except Exception as error:  # a lost worker (KilledWorker) or a task that could not run
            record = {"point": points[index], "status": "failed", "error": f"{type(error).__name__}: {error}"}
        on_result(index, record)
        if bar is not None:
            bar.update()


def run_study(
    study: StudyConfig,
    out_dir,
    *,
    progress: bool = True,
    retry_failed: bool = False,
    client=None,
    stale: str = "refuse",
) -> xr.Dataset:
    """Run every point not yet on disk in ``out_dir``; return (and write) the assembled Dataset and plots.

    ``client``: an existing Dask client to use instead of the one ``study.execution`` describes; ``stale``: what
    to do with points other code made (``bio_sleep.run_folder.STALE_CHOICES``).
    """
    points = study.point_list()
    about = {"name": study.name, "n_points": len(points), "study": study.model_dump(mode="json")}
    with RunFolder(out_dir, {"study_hash": study.fingerprint()}, "study", about, stale) as folder:
        folder.write_text("study.json", study.model_dump_json(indent=1))
        records = finished_points(folder, len(points))
        done = {i for i, r in records.items() if r["status"] == "ok" or not retry_failed}
        pending = {i: p for i, p in enumerate(points) if i not in done}

        def save(index, record):
            folder.write_text(_point_name(index), json.dumps(record))
            records[index] = record

        # Connect first, so that an unreachable scheduler is reported before any training.
        with contextlib.nullcontext(client) if client is not None else dask_client(study.execution) as active:
            state = control_state(study, folder, progress)
            with tqdm(
                total=len(points),
                initial=len(points) - len(pending),
                desc="study points",
                unit="point",
                disable=not progress,
            ) as bar:
                run_points(
                    active,
                    study.experiment.model_dump_json(),
                    study.evaluation.model_dump_json(),
                    state,
                    pending,
                    save,
                    bar,
                )
        baseline = control_metrics(study, state)
        dataset = assemble(study, records, baseline)
        dataset.attrs["corrupt_files_recomputed"] = json.dumps(folder.corrupt)
        folder.write_netcdf("study.nc", dataset)
        _write_plots(study, dataset, folder)
    return dataset


def _dim(name: str) -> str:
    return name.replace(".", "_")


def assemble(study: StudyConfig, records: dict[int, dict], baseline: dict) -> xr.Dataset:
    """One cell per point: dims are the swept parameters (grid) or ``point`` (list); missing points are NaN."""
    points = study.point_list()
    if study.grid:
        dims = [_dim(p) for p in study.parameters]
        coords = {_dim(p): list(values) for p, values in zip(study.parameters, study.grid.values())}
        shape = tuple(len(v) for v in study.grid.values())
    else:
        dims, shape = ["point"], (len(points),)
        coords = {
            "point": np.arange(len(points)),
            **{_dim(p): ("point", [pt[p] for pt in points]) for p in study.parameters},
        }
    status = np.full(len(points), "pending", dtype=object)
    errors = np.full(len(points), "", dtype=object)
    metrics: dict[str, list] = {}
    for index, record in records.items():
        status[index] = record["status"]
        errors[index] = record.get("error", "")
        for key, value in record.get("metrics", {}).items():
            metrics.setdefault(key, [None] * len(points))[index] = value
    data = {"status": (dims, status.reshape(shape).astype(str)), "error": (dims, errors.reshape(shape).astype(str))}
    for key, values in metrics.items():
        sample = next(v for v in values if v is not None)
        width = len(sample) if isinstance(sample, list) else 0
        table = np.full((len(points), width) if width else len(points), np.nan)
        for index, value in enumerate(values):
            if value is not None:
                table[index] = value
        if width:
            extra = ("layer",) if key == "firing_fraction" else (f"{key.removeprefix('accuracy_')}_level",)
            if key == "firing_fraction":
                coords["layer"] = layer_names(width)
            data[key] = (dims + list(extra), table.reshape(shape + (width,)))
        else:
            data[key] = (dims, table.reshape(shape))
    for name, levels in study.evaluation.distortions.items():
        coords[f"{name}_level"] = levels
    dataset = xr.Dataset(
        data,
        coords=coords,
        attrs={
            "study": study.name,
            "study_hash": study.fingerprint(),
            "parameters": json.dumps(study.parameters),
            "evaluation_split": study.evaluation.split,
            "experiment_toml": config_to_toml(study.experiment),
            **{f"control_{k}": (json.dumps(v) if isinstance(v, list) else v) for k, v in baseline.items()},
        },
    )
    return dataset


def _write_plots(study: StudyConfig, dataset: xr.Dataset, folder: RunFolder) -> None:
    from bio_sleep.studies.plots import plot_heatmap, plot_lines, plot_points_under_distortions

    dims = [_dim(p) for p in study.parameters] if study.grid else []
    targets = (
        ["accuracy_clean"]
        + (["mean_distorted_accuracy"] if study.evaluation.distortions else [])
        + (["fgsm_score"] if study.evaluation.attack == "fgsm" else [])
    )
    for variable in targets:
        if len(dims) >= 2:
            folder.write(f"heatmap_{variable}.png", lambda p, v=variable: plot_heatmap(dataset, v, dims[0], dims[1], p))
        if dims:
            folder.write(
                f"lines_{variable}.png",
                lambda p, v=variable: plot_lines(dataset, v, dims[0], dims[1] if len(dims) > 1 else None, p),
            )
    if not study.grid and study.evaluation.distortions:
        folder.write(
            "points_distortions.png",
            lambda p: plot_points_under_distortions(dataset, dict(study.evaluation.distortions), p),
        )
