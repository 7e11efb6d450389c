"""A run that fails after training keeps its control, looks unfinished, and a rerun can reuse the control."""

import json

import torch
from test_pipeline import small_patches

from bio_sleep.cli import main
from bio_sleep.config import config_to_toml


def test_a_diverging_sleep_leaves_an_unfinished_folder_whose_control_a_rerun_reuses(tmp_path, capsys):
    runs = tmp_path / "runs"
    diverging = tmp_path / "diverging.toml"
    diverging.write_text(config_to_toml(small_patches(runs, inc=1e308, dec=0.0)))
    assert main(["run", str(diverging), "--quiet"]) == 2
    error = capsys.readouterr().err
    (failed,) = runs.iterdir()
    assert "to infinity or NaN" in error and f"the run stopped unfinished in {failed}" in error
    assert f"--control {failed}" in error and len(error.strip().splitlines()) == 1
    assert {p.name for p in failed.iterdir()} == {".lock", "manifest.json", "config.toml", "control.pt", "failed.json"}
    record = json.loads((failed / "failed.json").read_text())
    assert "to infinity" in record["error"] and record["files_kept"] == ["config.toml", "control.pt"]

    fixed = tmp_path / "fixed.toml"
    fixed.write_text(config_to_toml(small_patches(runs)))
    assert main(["run", str(fixed), "--quiet", "--control", str(failed)]) == 0
    (rerun,) = set(runs.iterdir()) - {failed}
    summary = json.loads((rerun / "summary.json").read_text())
    assert summary["timings"]["train_s"] < 0.5  # not trained again
    before, after = torch.load(failed / "control.pt"), torch.load(rerun / "control.pt")
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)

    other_seed = tmp_path / "other_seed.toml"
    other_seed.write_text(config_to_toml(small_patches(runs).model_copy(update={"seed": 5})))
    assert main(["run", str(other_seed), "--quiet", "--control", str(failed)]) == 2
    assert "was trained with other seed settings" in capsys.readouterr().err
    assert main(["run", str(fixed), "--quiet", "--control", str(tmp_path)]) == 2
    assert "is not a folder of `bio-sleep run`" in capsys.readouterr().err
