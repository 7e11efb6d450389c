"""The one run folder: atomic writes, a manifest, validated reuse of damaged files, the lock, unusable folders."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
import xarray as xr

from bio_sleep.errors import BioSleepError
from bio_sleep.run_folder import LOCK, RunFolder, load_netcdf, load_state_dict, state_dict_matching, write_atomic

IDENTITY = {"seed": 0, "sleep": {"steps": 10}}


def _dataset():
    return xr.Dataset({"accuracy": ("level", [0.9, 0.8]), "eta": ("level", [0.1, 0.2])}, coords={"level": [0, 1]})


def _complete(dataset) -> str | None:
    missing = [v for v in ("accuracy", "eta") if v not in dataset]
    if missing:
        return f"missing {missing}"
    return "eta is all NaN" if np.isnan(dataset.eta.values).all() else None


def test_a_failing_writer_leaves_no_file_and_no_temporary(tmp_path):
    def half(path):
        path.write_text('{"half')
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_atomic(tmp_path / "summary.json", half)
    assert list(tmp_path.iterdir()) == []


def test_every_kind_of_damaged_file_is_moved_aside_and_recomputed(tmp_path):
    model = torch.nn.Linear(3, 2, bias=False)
    with RunFolder(tmp_path, IDENTITY) as folder:
        folder.write_json("summary.json", {"ok": 1})
        folder.write_text("config.toml", "seed = 0\n")
        folder.write_torch("slept.pt", model.state_dict())
        folder.write_netcdf("results.nc", _dataset())
        folder.write_netcdf("parts/a.nc", _dataset())
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert set(manifest["files"]) == {"summary.json", "config.toml", "slept.pt", "results.nc", "parts/a.nc"}
    assert not list(tmp_path.rglob(".*.tmp*"))

    # what a kill during a non-atomic write leaves: a 0-byte file, 48 bytes, a truncated .pt, a variable missing
    (tmp_path / "summary.json").write_bytes(b"")
    (tmp_path / "results.nc").write_bytes((tmp_path / "results.nc").read_bytes()[:48])
    (tmp_path / "slept.pt").write_bytes((tmp_path / "slept.pt").read_bytes()[:100])
    _dataset().drop_vars("eta").to_netcdf(tmp_path / "parts" / "a.nc")
    with RunFolder(tmp_path, IDENTITY) as folder:
        with pytest.warns(UserWarning, match="summary.json is damaged.*recomputing"):
            assert folder.reuse("summary.json", lambda p: json.loads(p.read_text())) is None
        with pytest.warns(UserWarning, match="results.nc is damaged"):
            assert folder.reuse("results.nc", load_netcdf, _complete) is None
        with pytest.warns(UserWarning, match="slept.pt is damaged"):
            assert folder.reuse("slept.pt", load_state_dict, state_dict_matching(model.state_dict())) is None
        with pytest.warns(UserWarning, match="a.nc is damaged"):
            assert folder.reuse("parts/a.nc", load_netcdf, _complete) is None
        assert folder.reuse("config.toml", lambda p: p.read_text()) == "seed = 0\n"  # intact files are kept
        assert len(folder.corrupt) == 4 and (tmp_path / "slept.pt.corrupt").is_file()
        assert folder.reuse("results.nc", load_netcdf) is None  # gone: the caller recomputes it

        # files listed complete whose content is wrong are caught by their checks: NaN never written, wrong keys
        unwritten = _dataset()
        unwritten["eta"][:] = np.nan
        folder.write_netcdf("parts/b.nc", unwritten)
        with pytest.warns(UserWarning, match="eta is all NaN"):
            assert folder.reuse("parts/b.nc", load_netcdf, _complete) is None
        folder.write_torch("control.pt", {"other": torch.zeros(2)})
        with pytest.warns(UserWarning, match="control.pt is damaged.*holds"):
            assert folder.reuse("control.pt", load_state_dict, state_dict_matching(model.state_dict())) is None
        folder.write_torch("control.pt", {"weight": torch.full((2, 3), float("nan"))})
        with pytest.warns(UserWarning, match="non-finite"):
            assert folder.reuse("control.pt", load_state_dict, state_dict_matching(model.state_dict())) is None
        folder.write_torch("control.pt", model.state_dict())
        assert torch.equal(folder.reuse("control.pt", load_state_dict)["weight"], model.weight)


def test_another_config_and_a_foreign_folder_are_refused(tmp_path):
    with RunFolder(tmp_path / "run", IDENTITY, "study"):
        pass
    with pytest.raises(BioSleepError, match="different study \\(differing: sleep\\).*delete"):
        with RunFolder(tmp_path / "run", {**IDENTITY, "sleep": {"steps": 20}}, "study"):
            pass
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(BioSleepError, match="not empty and holds no manifest.json"):
        with RunFolder(tmp_path / "other", IDENTITY):
            pass
    (tmp_path / "run" / "manifest.json").write_text("{")
    with pytest.raises(BioSleepError, match="manifest.json is unreadable"):
        with RunFolder(tmp_path / "run", IDENTITY):
            pass


def test_a_second_writer_is_refused_naming_the_holder(tmp_path):
    with RunFolder(tmp_path, IDENTITY):  # in this process: a second open of the lock file conflicts too
        with pytest.raises(
            BioSleepError, match=f"{tmp_path} is in use by another bio-sleep process \\(PID {os.getpid()}\\)"
        ):
            with RunFolder(tmp_path, IDENTITY):
                pass
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\nfrom bio_sleep.run_folder import RunFolder\n"
            f"with RunFolder({str(tmp_path)!r}, {IDENTITY!r}):\n    print('locked', flush=True)\n    time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(BioSleepError, match=f"in use by another bio-sleep process \\(PID {holder.pid}\\)"):
            with RunFolder(tmp_path, IDENTITY):
                pass
    finally:
        holder.kill()
        holder.wait()
    with RunFolder(tmp_path, IDENTITY):  # a killed holder's lock is gone with it
        assert (tmp_path / LOCK).read_text() == str(os.getpid())


def test_an_output_folder_that_is_a_file_is_named(tmp_path):
    (tmp_path / "out").write_text("")
    for root in (tmp_path / "out", tmp_path / "out" / "run"):
        with pytest.raises(BioSleepError, match="cannot use .*out.* as an output folder"):
            with RunFolder(root, IDENTITY):
                pass


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_output_folder_is_named(tmp_path):
    (tmp_path / "ro").mkdir()
    (tmp_path / "ro").chmod(0o555)
    with pytest.raises(BioSleepError, match="cannot use .*ro.* as an output folder"):
        with RunFolder(tmp_path / "ro" / "run", IDENTITY):
            pass


def test_stale_temporaries_of_a_killed_writer_are_removed(tmp_path):
    with RunFolder(tmp_path, IDENTITY):
        pass
    (tmp_path / "parts").mkdir()
    (tmp_path / "parts" / ".a.tmp12345.nc").write_bytes(b"\x89HDF")
    with RunFolder(tmp_path, IDENTITY):
        assert not (tmp_path / "parts" / ".a.tmp12345.nc").exists()


def _made_by(monkeypatch, code: str) -> None:
    """Let the run folder see ``code`` as the version of the code that runs now."""
    monkeypatch.setattr("bio_sleep.run_folder.code_version", lambda: code)


def test_files_of_other_code_are_refused_unless_recomputed_or_reused(tmp_path, monkeypatch):
    _made_by(monkeypatch, "0.1.0+old")
    with RunFolder(tmp_path, IDENTITY) as folder:
        folder.write_json("parts/a.json", {"eta": 1})
        folder.write_json("parts/b.json", {"eta": 2})
    _made_by(monkeypatch, "0.1.0+new")
    with pytest.raises(
        BioSleepError, match=r"2 file\(s\) made by other bio-sleep code .*0\.1\.0\+old.*--stale recompute"
    ):
        RunFolder(tmp_path, IDENTITY).__enter__()

    def load(path):
        return json.loads(path.read_text())

    with RunFolder(tmp_path, IDENTITY, stale="reuse") as folder:
        assert folder.reuse("parts/a.json", load) == {"eta": 1}
    with RunFolder(tmp_path, IDENTITY, stale="recompute") as folder:
        assert folder.reuse("parts/a.json", load) is None
        folder.write_json("parts/a.json", {"eta": 3})
        assert folder.stale == {"parts/b.json"}
    codes = {
        name: entry["code"] for name, entry in json.loads((tmp_path / "manifest.json").read_text())["files"].items()
    }
    assert codes == {"parts/a.json": "0.1.0+new", "parts/b.json": "0.1.0+old"}  # a reused file keeps its maker
    with pytest.raises(BioSleepError, match=r"1 file\(s\) made by other bio-sleep code \(e\.g\. parts/b\.json"):
        RunFolder(tmp_path, IDENTITY).__enter__()


def test_a_file_listed_without_its_code_counts_as_other_code(tmp_path):
    with RunFolder(tmp_path, IDENTITY) as folder:
        folder.write_json("summary.json", {"ok": 1})
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    del manifest["files"]["summary.json"]["code"]  # what bio-sleep wrote before it recorded code versions
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BioSleepError, match="by a bio-sleep that did not record its code"):
        RunFolder(tmp_path, IDENTITY).__enter__()
    with pytest.raises(BioSleepError, match="stale must be one of refuse, recompute, reuse"):
        RunFolder(tmp_path, IDENTITY, stale="keep")
