"""A recording written to NIX reads back as the same spikes and potentials, and Elephant bins it without corrections."""

import logging

import numpy as np
import pytest

from bio_sleep.analysis.neo_export import recording_block, write_nix
from bio_sleep.errors import BioSleepError
from bio_sleep.sleep.reference import run_reference
from helpers import small_network, small_raster


@pytest.fixture(scope="module")
def recording():
    from bio_sleep.converters import SleepDynamics

    _, recorded = run_reference(
        small_network(),
        SleepDynamics(0.95, 0.01, 0.003),
        small_raster(120),
        record_trains=True,
        record_potentials=((0, 3), (), (1,)),
        progress=False,
    )
    return recorded.to_dataset()


def test_nix_file_holds_every_neuron_spike_and_potential(recording, tmp_path):
    import neo

    path = write_nix(recording, tmp_path / "sleep.nix")
    with neo.NixIO(str(path), mode="ro") as io:
        block = io.read_block()
    trains = block.segments[0].spiketrains
    assert len(trains) == int(recording["layer_size"].sum())
    first = {(t.annotations["layer"], t.annotations["neuron"]): t for t in trains}
    counts = recording["spike_count"].values
    for unit, (layer, index) in enumerate(zip(recording["unit_layer"].values, recording["unit_index"].values)):
        assert len(first[(str(layer), int(index))]) == counts[unit]
    assert counts.sum() > 0
    signals = {s.annotations["layer"]: s for s in block.segments[0].analogsignals}
    assert sorted(signals) == ["hidden_1", "output"]
    np.testing.assert_array_equal(signals["hidden_1"].array_annotations["neuron"], [0, 3])
    expected = recording["potential"].where(recording["recorded_layer"] == "hidden_1", drop=True).values
    np.testing.assert_array_equal(signals["hidden_1"].magnitude, expected)


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__()
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def test_elephant_bins_the_trains_without_rounding_corrections():
    """27,105 steps of 1 ms: in seconds, k * 0.001 lands beside bin edges and Elephant corrects (and logs) it."""
    import quantities as pq
    from elephant.conversion import BinnedSpikeTrain

    from bio_sleep.sleep.recording import SleepRecording

    steps = 27_105
    spike_steps = np.sort(np.random.default_rng(0).choice(steps, 3000, replace=False))
    per_step = np.stack([np.bincount(spike_steps, minlength=steps), np.zeros(steps, int)])
    recording = SleepRecording(
        (1, 1),
        0.001,
        per_step,
        [np.array([3000]), np.array([0])],
        [(spike_steps, np.zeros(3000, int)), (np.zeros(0, int), np.zeros(0, int))],
    )
    trains = recording_block(recording.to_dataset()).segments[0].spiketrains
    import elephant.utils

    collect = _Collect()
    elephant_log = logging.getLogger(elephant.utils.__file__)  # Elephant's own logger, which does not propagate
    elephant_log.addHandler(collect)
    try:
        binned = BinnedSpikeTrain(trains, bin_size=10 * pq.ms)
    finally:
        elephant_log.removeHandler(collect)
    assert not [message for message in collect.messages if "rounding" in message]
    assert binned.to_array().sum() == 3000


def test_nix_needs_spike_trains_and_a_nix_name(recording, tmp_path):
    with pytest.raises(BioSleepError, match="ends in .nix"):
        write_nix(recording, tmp_path / "sleep.h5")
    with pytest.raises(BioSleepError, match="record_spike_trains"):
        write_nix(recording.drop_vars(["spike_step", "spike_unit"]), tmp_path / "sleep.nix")


def test_analyse_writes_the_nix_file_alone_or_beside_the_plots(recording, tmp_path, capsys):
    import neo

    from bio_sleep.cli import main

    recording.to_netcdf(tmp_path / "recording.nc")
    assert main(["analyse", str(tmp_path / "recording.nc"), "--nix", str(tmp_path / "only.nix")]) == 0
    with neo.NixIO(str(tmp_path / "only.nix"), mode="ro") as io:
        assert len(io.read_block().segments[0].spiketrains) == int(recording["layer_size"].sum())
    out = tmp_path / "plots"
    assert main(["analyse", str(tmp_path / "recording.nc"), "--out", str(out), "--nix", str(tmp_path / "s.nix")]) == 0
    assert (tmp_path / "s.nix").is_file() and (out / "spike_statistics.csv").is_file()
    assert main(["analyse", str(tmp_path / "recording.nc")]) == 2
    assert "give --out DIR" in capsys.readouterr().err
