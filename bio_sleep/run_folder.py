"""One output folder of any command: a lock, atomic writes, a manifest of what is complete, validated reuse.

Every file a later command trusts is written to a temporary name in the same folder, flushed to disk and renamed,
so a killed process leaves a whole file or none. The manifest names the folder's config (a folder written by
another config is refused, never mixed) and lists each complete file with its size and SHA-256. A file reused on a
rerun must be listed with that size and hash, load, and hold what it must; one that does not is moved aside as
``*.corrupt`` with one warning line and recomputed. Each listed file also records the code version that made it
(``bio_sleep.version.code_version``): a folder holding files of other code is refused unless the caller chooses to
recompute them or to reuse them (``stale``), because the config alone does not say what produced a result. An
exclusive lock on ``.lock`` keeps a second process out of a folder in use; it is released when the process ends,
however it ends.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from bio_sleep.errors import BioSleepError
from bio_sleep.version import UNRECORDED, code_version

MANIFEST = "manifest.json"
LOCK = ".lock"
# What to do with listed files that other code made: stop with an error, recompute them, or reuse them as they are.
STALE_CHOICES = ("refuse", "recompute", "reuse")
T = TypeVar("T")


def write_atomic(path: Path, write: Callable[[Path], object]) -> None:
    """``write(temporary)`` then rename it to ``path``; the temporary keeps the suffix (matplotlib reads it)."""
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.tmp{os.getpid()}{path.suffix}")
    try:
        write(tmp)
        with open(tmp, "rb") as written:
            os.fsync(written.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)  # the rename itself reaches the disk
    finally:
        os.close(directory)


@contextlib.contextmanager
def locked(path: Path, mode: int = fcntl.LOCK_EX):
    """Hold ``fcntl.flock(mode)`` on ``path`` (created, with its folder, if missing) while the block runs; the
    lock is released however the block or the process ends."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, mode)
        try:
            yield handle
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def output_folder(path) -> Path:
    """``path`` created as a folder that can be written, or a BioSleepError saying why it cannot."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path):
            pass
    except OSError as error:
        raise BioSleepError(
            f"cannot use {path} as an output folder ({error.strerror or error}): "
            "give a writable folder that is not a file"
        ) from None
    return path


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fingerprint(identity) -> str:
    return hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _differing(before, now) -> str:
    if isinstance(before, dict) and isinstance(now, dict):
        keys = sorted(k for k in before.keys() | now.keys() if before.get(k) != now.get(k))
        return ", ".join(keys)
    return "the config"


class RunFolder:
    """The folder ``root`` bound to one config (``identity``, any JSON value); use it as a context manager.

    ``what`` names the results in messages ("study", "SRC reproduction", ...); ``about`` is kept in the manifest
    for readers and not compared; ``stale`` (one of STALE_CHOICES) says what to do with files other code made.
    Entering takes the lock, then checks (or writes) the manifest.
    """

    def __init__(self, root, identity, what: str = "results", about: dict | None = None, stale: str = "refuse"):
        if stale not in STALE_CHOICES:
            raise BioSleepError(f"stale must be one of {', '.join(STALE_CHOICES)}, not {stale!r}")
        self.root = Path(root)
        self.identity, self.what, self.about, self.stale_choice = identity, what, about or {}, stale
        self.stale: set[str] = set()  # listed files made by other code
        self.corrupt: list[str] = []
        self._lock_file = None
        self._files: dict[str, dict] = {}

    def __enter__(self) -> RunFolder:
        self._lock()
        try:
            self._bind()
        except BaseException:
            self._unlock()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self._unlock()

    # --- the lock --------------------------------------------------------------------------------------------------
    def _lock(self) -> None:
        output_folder(self.root)
        try:
            lock = open(self.root / LOCK, "a+")
        except OSError as error:
            raise BioSleepError(
                f"cannot use {self.root} as an output folder ({error.strerror or error}): "
                f"give a writable folder that is not a file"
            ) from None
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "unknown"
            lock.close()
            raise BioSleepError(
                f"{self.root} is in use by another bio-sleep process (PID {holder}); wait for it to "
                f"finish or give another output folder"
            ) from None
        lock.seek(0)
        lock.truncate()
        lock.write(str(os.getpid()))
        lock.flush()
        self._lock_file = lock

    def _unlock(self) -> None:
        if self._lock_file is not None:
            self._lock_file.close()  # closing releases the flock
            self._lock_file = None

    # --- the manifest ----------------------------------------------------------------------------------------------
    def _bind(self) -> None:
        manifest = self.root / MANIFEST
        if manifest.exists():
            try:
                existing = json.loads(manifest.read_text())
                found, files = existing["fingerprint"], dict(existing["files"])
            except (OSError, ValueError, KeyError, TypeError) as error:
                raise BioSleepError(
                    f"{manifest} is unreadable or from an older bio-sleep ({type(error).__name__}: "
                    f"{error}); move {self.root} away to start fresh"
                ) from None
            if found != fingerprint(self.identity):
                raise BioSleepError(
                    f"{self.root} holds results of a different {self.what} (differing: "
                    f"{_differing(existing.get('identity'), self.identity)}), which this run would reuse; refusing to "
                    f"mix them: give another output folder, or delete {self.root} to start fresh"
                )
            self._files = files
            self._check_code()
        elif any(p.name != LOCK for p in self.root.iterdir()):
            raise BioSleepError(
                f"{self.root} is not empty and holds no {MANIFEST} of bio-sleep; give an empty or new output folder"
            )
        for stale in self.root.rglob(".*.tmp[0-9]*"):  # left by a killed writer; the lock says none is running
            stale.unlink()
        self._write_manifest()

    def _check_code(self) -> None:
        """Note the listed files that other code made; refuse them unless ``stale`` says otherwise."""
        self.stale = {name for name, entry in self._files.items() if entry.get("code") != code_version()}
        if not self.stale or self.stale_choice != "refuse":
            return
        example = min(self.stale)
        made_by = self._files[example].get("code", UNRECORDED)
        raise BioSleepError(
            f"{self.root} holds {len(self.stale)} file(s) made by other bio-sleep code (e.g. {example}, by "
            f"{made_by}; this is {code_version()}), which this run would reuse; rerun with --stale recompute to "
            f"recompute them, or --stale reuse to keep them (the manifest records the code of each file)"
        )

    def _write_manifest(self) -> None:
        content = {
            "fingerprint": fingerprint(self.identity),
            "identity": self.identity,
            **self.about,
            "files": self._files,
        }
        write_atomic(self.root / MANIFEST, lambda p: p.write_text(json.dumps(content, indent=1, default=str)))

    # --- writing ---------------------------------------------------------------------------------------------------
    def path(self, name: str) -> Path:
        return self.root / name

    def write(self, name: str, write: Callable[[Path], object]) -> Path:
        """Write ``name`` (relative to the folder) atomically through ``write(path)`` and list it as complete."""
        path = self.path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, write)
        self._files[name] = {"bytes": path.stat().st_size, "sha256": sha256(path), "code": code_version()}
        self.stale.discard(name)
        self._write_manifest()
        return path

    def write_text(self, name: str, text: str) -> Path:
        return self.write(name, lambda p: p.write_text(text))

    def write_json(self, name: str, value) -> Path:
        return self.write_text(name, json.dumps(value, indent=2))

    def write_torch(self, name: str, state_dict: dict) -> Path:
        import torch

        return self.write(name, lambda p: torch.save(state_dict, p))

    def write_netcdf(self, name: str, dataset) -> Path:
        """``dataset`` with the CF attributes (``bio_sleep.netcdf.cf_dataset``)."""
        from bio_sleep.netcdf import cf_dataset

        return self.write(name, cf_dataset(dataset).to_netcdf)

    # --- validated reuse -------------------------------------------------------------------------------------------
    def reuse(self, name: str, load: Callable[[Path], T], check: Callable[[T], str | None] | None = None) -> T | None:
        """The content of ``name`` if it is listed complete, loads and passes ``check`` (None, or what is wrong).

        None when the file is absent, or was made by other code and ``stale`` is "recompute"; a damaged one is
        moved aside as ``*.corrupt`` with one warning and None returned, so that the caller recomputes it.
        """
        path = self.path(name)
        if not path.exists() or (name in self.stale and self.stale_choice == "recompute"):
            return None
        listed = self._files.get(name)
        if listed is None:
            problem = "not listed as complete in the manifest (written by a process that was killed?)"
        elif path.stat().st_size != listed["bytes"] or sha256(path) != listed["sha256"]:
            problem = "size or checksum differs from the manifest"
        else:
            try:
                value = load(path)
            except Exception as error:  # any loader's failure (HDF, pickle, EOF, ...) means the same: unusable
                problem = f"unreadable: {type(error).__name__}: {error}"
            else:
                problem = check(value) if check is not None else None
                if problem is None:
                    return value
        self.set_aside(name, problem)
        return None

    def set_aside(self, name: str, problem: str) -> None:
        path = self.path(name)
        aside = path.with_name(path.name + ".corrupt")
        os.replace(path, aside)
        self._files.pop(name, None)
        self.stale.discard(name)
        self._write_manifest()
        self.corrupt.append(str(aside))
        warnings.warn(f"{path} is damaged ({problem}); moved to {aside}, recomputing it", stacklevel=3)

    def existing(self, pattern: str) -> list[str]:
        """Names of the files matching the glob ``pattern`` (complete or not: ``reuse`` checks them)."""
        return sorted(str(p.relative_to(self.root)) for p in self.root.glob(pattern) if not p.name.endswith(".corrupt"))


def load_state_dict(path: Path) -> dict:
    import torch

    return torch.load(path, weights_only=True)


def state_dict_matching(expected: dict) -> Callable[[dict], str | None]:
    """A check that a loaded state dict has ``expected``'s keys and shapes, and only finite values."""
    import torch

    def check(loaded) -> str | None:
        if not isinstance(loaded, dict) or set(loaded) != set(expected):
            return (
                f"holds {sorted(loaded) if isinstance(loaded, dict) else type(loaded).__name__}, not {sorted(expected)}"
            )
        for key, value in loaded.items():
            if not isinstance(value, torch.Tensor) or value.shape != expected[key].shape:
                return f"{key} is not a tensor of shape {tuple(expected[key].shape)}"
            if value.is_floating_point() and not torch.isfinite(value).all():
                return f"{key} holds non-finite values"
        return None

    return check


def load_netcdf(path: Path):
    import xarray as xr

    return xr.load_dataset(path)
