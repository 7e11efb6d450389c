"""Compiled Brian2 standalone networks, kept across processes and run without importing Brian2.

A compiled network lives in ``<cache dir>/brian2/<key>/`` (the cache dir is
``$BIO_SLEEP_CACHE`` or ``~/.cache/bio_sleep``); the key hashes everything
that changes the generated code. Beside the Brian2 project, ``manifest.json``
names the files the binary writes, so a later process runs ``./main`` itself:
run-time values go on its command line (scalars) or in files of a private
folder, the input raster in a file of bytes named by ``$BIO_SLEEP_RASTER``
(its length is the run's; see ``equations.raster``), and the results are written to another private folder
(``--results_dir``), so any number of processes can use one build at once.

Concurrency: ``<key>.lock`` is held shared while a build is used and
exclusively while it is built; a build is made in ``<key>.building-<pid>``
and renamed into place, so a half-built folder is never used. Folders left by
dead processes (builds here, run folders in the temporary directory) are
removed when the next process starts, and the least recently used builds are
removed once the cache exceeds ``SIZE_LIMIT`` bytes.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from bio_sleep.errors import BioSleepError
from bio_sleep.run_folder import locked

SIZE_LIMIT = 4 * 2**30
MANIFEST = "manifest.json"
_RUN_PREFIX = "bio_sleep_brian_"
# The environment variable naming a run's input raster file (read by the compiled ``raster_spike``).
RASTER_ENV = "BIO_SLEEP_RASTER"
_cleaned = False


def cache_folder() -> Path:
    from bio_sleep.data.torchvision_sets import cache_dir

    folder = cache_dir() / "brian2"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_folders(folder: Path) -> None:
    """Remove builds and run folders whose process is dead (once per process)."""
    global _cleaned
    if _cleaned:
        return
    _cleaned = True
    candidates = [(p, re.search(r"\.building-(\d+)$", p.name)) for p in folder.glob("*.building-*")]
    runs = Path(tempfile.gettempdir()).glob(f"{_RUN_PREFIX}*")
    candidates += [(p, re.match(rf"{_RUN_PREFIX}(\d+)_", p.name)) for p in runs]
    for path, match in candidates:
        if match and not _alive(int(match.group(1))):
            shutil.rmtree(path, ignore_errors=True)


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _evict(folder: Path, keep: str) -> None:
    """Remove the least recently used builds until the cache is under SIZE_LIMIT; builds in use are kept."""
    entries = sorted(
        (p for p in folder.iterdir() if p.is_dir() and (p / MANIFEST).exists() and p.name != keep),
        key=lambda p: (p / MANIFEST).stat().st_mtime,
    )
    total = sum(_size(p) for p in folder.iterdir() if p.is_dir())
    for entry in entries:
        if total <= SIZE_LIMIT:
            return
        with open(folder / f"{entry.name}.lock", "a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue
            size = _size(entry)
            shutil.rmtree(entry, ignore_errors=True)
            total -= size


def cache_builds(folder: Path) -> list[Path]:
    """The finished builds in ``folder``, least recently used first."""
    builds = (p for p in folder.iterdir() if p.is_dir() and (p / MANIFEST).exists())
    return sorted(builds, key=lambda p: (p / MANIFEST).stat().st_mtime)


def cache_summary(folder: Path) -> tuple[int, int]:
    """(finished builds in ``folder``, the bytes they take)."""
    builds = cache_builds(folder)
    return len(builds), sum(_size(entry) for entry in builds)


def clear_cache(folder: Path) -> tuple[list[Path], list[Path]]:
    """Remove every build of ``folder`` that no process uses or builds; (removed, kept because their lock is
    held). The empty ``<key>.lock`` files stay: a process may be waiting on one."""
    remove_stale_folders(folder)
    removed, busy = [], []
    for entry in cache_builds(folder):
        with open(folder / f"{entry.name}.lock", "a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                busy.append(entry)
                continue
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed, busy


class _Elapsed:
    """'<message>: 12s' on the terminal, ticking, while a build runs."""

    def __init__(self, message: str, enabled: bool):
        self.message, self.enabled = message, enabled
        self._stop = threading.Event()

    def __enter__(self):
        self.start = time.perf_counter()
        if self.enabled:
            self.bar = tqdm(total=None, desc=self.message, bar_format="{desc}: {elapsed}", leave=False)
            self.thread = threading.Thread(target=self._tick, daemon=True)
            self.thread.start()
        return self

    def _tick(self):
        while not self._stop.wait(1.0):
            self.bar.refresh()

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start
        if self.enabled:
            self._stop.set()
            self.thread.join()
            self.bar.close()
            if exc[0] is None:
                tqdm.write(f"{self.message}: done in {self.seconds:.0f} s")
        return False


def compile_project(directory: Path) -> None:
    """``make`` the generated project with at most as many jobs as this process has CPUs; output captured."""
    jobs = len(os.sched_getaffinity(0))
    done = subprocess.run(["make", f"-j{jobs}"], cwd=directory, capture_output=True, text=True)
    if done.returncode:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-15:])
        raise BioSleepError(
            f"the Brian2 network did not compile (make exited with {done.returncode}); "
            f"the compiler said:\n{tail}\nCheck that a C++ compiler (g++) and make are installed"
        )


class CompiledNetwork:
    """A compiled standalone network in the cache: runs with new values, in a private results folder."""

    def __init__(self, folder: Path, key: str):
        self.folder, self.key = folder, key
        self.directory = folder / key
        self.manifest = json.loads((self.directory / MANIFEST).read_text())

    def run(
        self, values: dict[str, np.ndarray | float], raster: np.ndarray, progress_desc: str | None
    ) -> dict[str, np.ndarray]:
        """Run the binary with ``values`` (run-time variable name -> value) on ``raster`` (steps x inputs, spikes
        true); return every output of the manifest."""
        run_folder = Path(tempfile.mkdtemp(prefix=f"{_RUN_PREFIX}{os.getpid()}_"))
        try:
            results = run_folder / "results"
            results.mkdir()
            raster_path = run_folder / "raster.u8"
            np.ascontiguousarray(raster, dtype=np.uint8).tofile(raster_path)
            arguments = []
            for name, value in values.items():
                array = np.ascontiguousarray(value, dtype=self.manifest["inputs"][name])
                if array.size == 1:
                    arguments.append(f"{name}={array.item()!r}")
                else:
                    path = run_folder / f"{name}.dat"
                    array.tofile(path)
                    arguments.append(f"{name}={path}")
            stdout_path = results / "stdout.txt"
            env = {**os.environ, **self.manifest["environment"], RASTER_ENV: str(raster_path)}
            with (
                locked(self.folder / f"{self.key}.lock", fcntl.LOCK_SH),
                open(stdout_path, "w") as stdout,
                _StandaloneProgress(stdout_path, len(raster), progress_desc),
            ):
                os.utime(self.directory / MANIFEST)  # last used, for the size bound
                done = subprocess.run(
                    ["./main", "--results_dir", f"{results}/", *arguments],
                    cwd=self.directory,
                    stdout=stdout,
                    stderr=subprocess.STDOUT,
                    env=env,
                )
            if done.returncode:
                tail = "\n".join(stdout_path.read_text().strip().splitlines()[-15:])
                raise BioSleepError(
                    f"the compiled Brian2 network failed (exit {done.returncode}) in {self.directory}:"
                    f"\n{tail}\nRemove that folder to rebuild it"
                )
            return {name: self._read(results, name, spec) for name, spec in self.manifest["outputs"].items()}
        finally:
            shutil.rmtree(run_folder, ignore_errors=True)

    @staticmethod
    def _read(results: Path, name: str, spec: dict) -> np.ndarray:
        path = results / spec["file"]
        # An empty dynamic array (no spike recorded) is written as no file at all.
        return np.fromfile(path, dtype=spec["dtype"]) if path.exists() else np.empty(0, dtype=spec["dtype"])


def compiled_network(key: str, description: str, build, progress: bool) -> tuple[CompiledNetwork, float]:
    """The cached build of ``key``, made by ``build(directory) -> manifest`` if missing; (network, seconds spent
    building it or waiting for another process's build of it).

    Two processes asking for one missing key build it once: the second waits on the lock, then uses it.
    """
    folder = cache_folder()
    remove_stale_folders(folder)
    target = folder / key
    if (target / MANIFEST).exists():
        return CompiledNetwork(folder, key), 0.0
    start = time.perf_counter()
    with locked(folder / f"{key}.lock", fcntl.LOCK_EX):
        if (target / MANIFEST).exists():  # built by another process while this one waited
            return CompiledNetwork(folder, key), time.perf_counter() - start
        building = folder / f"{key}.building-{os.getpid()}"
        shutil.rmtree(building, ignore_errors=True)
        try:
            with _Elapsed(
                f"compiling the Brian2 network for {description} (about a minute, once; cached in {folder})", progress
            ) as elapsed:
                manifest = build(building)
                (building / MANIFEST).write_text(json.dumps(manifest, indent=1))
            shutil.rmtree(building / "results", ignore_errors=True)
            os.rename(building, target)
        finally:
            shutil.rmtree(building, ignore_errors=True)
    _evict(folder, keep=key)
    return CompiledNetwork(folder, key), elapsed.seconds


class _StandaloneProgress:
    """A progress bar fed by the standalone binary's report of the step reached ('step 1234', its stdout)."""

    def __init__(self, path: Path, steps: int, desc: str | None):
        self.path, self.steps, self.desc = path, steps, desc
        self._stop = threading.Event()

    def _follow(self, bar):
        while not self._stop.wait(0.5):
            found = re.findall(r"^step (\d+)$", self.path.read_text(), re.MULTILINE)
            if found:
                bar.n = min(self.steps, int(found[-1]))
                bar.refresh()

    def __enter__(self):
        if self.desc:
            self.bar = tqdm(total=self.steps, desc=self.desc, leave=False)
            self.thread = threading.Thread(target=self._follow, args=(self.bar,), daemon=True)
            self.thread.start()
        return self

    def __exit__(self, *exc):
        if self.desc:
            self._stop.set()
            self.thread.join()
            if exc[0] is None:
                self.bar.n = self.steps
            self.bar.close()
        return False
