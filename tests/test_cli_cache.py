"""`bio-sleep cache info` and `bio-sleep cache clear`: builds in use are kept, and said so."""

import fcntl
import json

from bio_sleep.cli import main
from bio_sleep.sleep import brian2_cache


def _build(folder, key: str, size: int):
    (folder / key).mkdir(parents=True)
    (folder / key / brian2_cache.MANIFEST).write_text(json.dumps({}))
    (folder / key / "main").write_bytes(b"x" * size)


def test_info_and_clear_skip_a_build_another_process_holds(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("BIO_SLEEP_CACHE", str(tmp_path))
    folder = tmp_path / "brian2"
    _build(folder, "free", 2**20)
    _build(folder, "busy", 2**20)
    (folder / "half.building-1").mkdir()  # unfinished: not a build

    assert main(["cache", "info"]) == 0
    out = capsys.readouterr().out
    assert str(folder) in out and "2 compiled network(s), 2.0 MiB" in out

    with open(folder / "busy.lock", "a") as held:  # a second open file: its own lock, as in another process
        fcntl.flock(held, fcntl.LOCK_SH)
        assert main(["cache", "clear"]) == 0
    out = capsys.readouterr().out
    assert "removed 1 compiled network(s)" in out and "kept 1 in use by another process" in out and "busy" in out
    assert not (folder / "free").exists() and (folder / "busy" / "main").exists()

    assert main(["cache", "clear"]) == 0
    assert "removed 1 compiled network(s)" in capsys.readouterr().out
    assert brian2_cache.cache_summary(folder) == (0, 0)
