"""The compile cache of Brian2 standalone networks: built once, across processes, used without Brian2."""

import json
import os
import subprocess
import sys
import tempfile
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from bio_sleep.errors import BioSleepError
from bio_sleep.sleep import brian2_cache
from helpers import small_network, small_raster


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_folders_of_dead_processes_are_removed_and_live_ones_kept(monkeypatch):
    folder = brian2_cache.cache_folder()
    dead, live = _dead_pid(), os.getpid()
    stale = [folder / f"abc.building-{dead}", Path(tempfile.gettempdir()) / f"bio_sleep_brian_{dead}_x"]
    kept = [folder / f"abc.building-{live}", Path(tempfile.gettempdir()) / f"bio_sleep_brian_{live}_x"]
    for path in stale + kept:
        path.mkdir(exist_ok=True)
    monkeypatch.setattr(brian2_cache, "_cleaned", False)
    brian2_cache.remove_stale_folders(folder)
    assert not any(p.exists() for p in stale) and all(p.exists() for p in kept)
    for path in kept:
        path.rmdir()


def test_a_failing_compilation_raises_one_error_with_the_compilers_words(tmp_path):
    (tmp_path / "Makefile").write_text("all:\n\t@echo 'main.cpp:3: error: expected ;' >&2; exit 1\n")
    with pytest.raises(BioSleepError, match="(?s)did not compile.*expected ;"):
        brian2_cache.compile_project(tmp_path)


def test_two_processes_asking_for_one_missing_key_build_it_once(tmp_path):
    script = textwrap.dedent(f"""
        import os
        import time
        from pathlib import Path
        from bio_sleep.sleep import brian2_cache

        def build(directory):
            directory.mkdir()
            with open({str(tmp_path / "builds")!r}, "a") as log:
                log.write("built\\n")
            while len(list(Path({str(tmp_path)!r}).glob("started-*"))) < 2:   # the other process asks too
                time.sleep(0.1)
            time.sleep(2)
            return {{"inputs": {{}}, "outputs": {{}}}}

        Path({str(tmp_path)!r}, f"started-{{os.getpid()}}").touch()
        network, seconds = brian2_cache.compiled_network("fake-key", "test", build, progress=False)
        print(network.directory, seconds > 1.5)
    """)
    processes = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate()[0].split()[-1] for p in processes]
    assert (tmp_path / "builds").read_text() == "built\n"  # one built, the other waited and used it
    assert outputs == ["True", "True"]  # both paid the build's time, none counts it as running


@pytest.mark.filterwarnings("ignore")
def test_a_new_process_runs_the_cached_build_without_brian2_and_parallel_runs_do_not_clobber():
    from bio_sleep.converters import SleepDynamics
    from bio_sleep.sleep.brian2_network import Architecture, brian_network_for
    from bio_sleep.sleep.simulator import BuildPlan

    network, dynamics = small_network(), SleepDynamics(0.95, 0.01, 0.003, "constant", "above")
    plan = BuildPlan((True, True, True), 0.001, True, ((0, 5, 47), (), (2, 9)))
    brian = brian_network_for(Architecture.of(network, dynamics, plan, "cpp_standalone"), progress=False)
    rasters = [small_raster(300, seed=seed) for seed in range(4)]
    sequential = [brian.run(network, dynamics, raster, progress=False) for raster in rasters]
    with ThreadPoolExecutor(4) as pool:  # four binaries at once on one build, each in its own results folder
        parallel = list(pool.map(lambda raster: brian.run(network, dynamics, raster, progress=False), rasters))
    for (net_a, rec_a), (net_b, rec_b) in zip(sequential, parallel):
        assert all(np.array_equal(a, b) for a, b in zip(net_a.weights, net_b.weights))
        assert np.array_equal(rec_a.spikes_per_step, rec_b.spikes_per_step)
    assert not np.array_equal(sequential[0][1].spikes_per_step, sequential[1][1].spikes_per_step)

    script = textwrap.dedent("""
        import sys, json
        import numpy as np
        from bio_sleep.converters import SleepDynamics
        from bio_sleep.sleep.brian2_network import Brian2Simulator
        from bio_sleep.sleep.simulator import BuildPlan
        from helpers import small_network, small_raster

        simulator = Brian2Simulator("cpp_standalone")
        plan = BuildPlan((True, True, True), 0.001, True, ((0, 5, 47), (), (2, 9)))
        dynamics = SleepDynamics(0.95, 0.01, 0.003, "constant", "above")
        slept, recording = simulator.run(small_network(), dynamics, small_raster(300, seed=0), plan, progress=False)
        compile_seconds = simulator.compile_seconds
        # Another number of steps runs the same build (a build would import Brian2).
        _, shorter = simulator.run(small_network(), dynamics, small_raster(120, seed=0), plan, progress=False)
        print(json.dumps({"brian2": "brian2" in sys.modules, "compile": compile_seconds + simulator.compile_seconds,
                          "spikes": recording.spikes_per_step.tolist(), "w": slept.weights[0].sum(),
                          "shorter": shorter.spikes_per_step.tolist()}))
    """)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=Path(__file__).parent
    )
    fresh = json.loads(done.stdout.splitlines()[-1])
    assert fresh["brian2"] is False and fresh["compile"] == 0.0
    assert fresh["spikes"] == sequential[0][1].spikes_per_step.tolist()
    assert fresh["shorter"] == [row[:120] for row in fresh["spikes"]]  # the same input's first 120 steps
    assert fresh["w"] == sequential[0][0].weights[0].sum()


def test_the_cache_key_tells_apart_what_changes_the_generated_code():
    from bio_sleep.converters import AvgPool, Pool, SleepDynamics
    from bio_sleep.sleep.brian2_network import Architecture, cache_key
    from bio_sleep.sleep.simulator import BuildPlan
    from conv_fixtures import small_conv_network

    dynamics, plan = SleepDynamics(0.9, 0.01, 0.01), BuildPlan((True, False, True, True))

    def key(pool_kind=Pool, plan=plan):
        network = small_conv_network(pool_kind=pool_kind)
        return cache_key(Architecture.of(network, dynamics, plan, "cpp_standalone"))

    keys = {
        key(),
        key(AvgPool),
        key(plan=BuildPlan((True, False, True, False))),
        key(plan=BuildPlan((True, False, True, True), record_trains=True)),
    }
    assert len(keys) == 4 and key() == key()
