"""Configs: the embedded default, the experiment files, and clear errors for bad values."""
import tomllib
from pathlib import Path

import pytest

from bio_sleep.config import config_from_dict, config_to_toml, default_config, load_config
from bio_sleep.errors import BioSleepError

EXPERIMENTS = Path(__file__).parents[1] / "experiments"


def test_patches_experiment_file_is_the_embedded_default():
    assert load_config(EXPERIMENTS / "patches.toml") == default_config()


def load_by_kind(path):
    """Each experiment file is read by the loader its name prefix says."""
    from bio_sleep.robustness import load_robustness_config
    from bio_sleep.src import load_src_config
    from bio_sleep.studies import load_study
    from bio_sleep.studies.search import load_search

    for prefix, loader in [("src_", load_src_config), ("robustness_", load_robustness_config),
                           ("study_search_", load_search), ("study_", load_study)]:
        if path.name.startswith(prefix):
            return loader(path)
    return load_config(path)


@pytest.mark.parametrize("path", sorted(EXPERIMENTS.glob("*.toml")), ids=lambda p: p.name)
def test_every_experiment_config_is_valid(path):
    load_by_kind(path)


def test_written_config_reads_back_identically():
    config = default_config()
    assert config_from_dict(tomllib.loads(config_to_toml(config))) == config


@pytest.mark.parametrize("values, message", [
    ({"sleep": {"decya": 0.9}}, "unknown key 'sleep.decya'"),
    ({"colour": "red"}, "unknown key 'colour'"),
    ({"sleep": {"thresholds": [1.0, 2.0]}}, "give one threshold per layer"),
    ({"sleep": {"thresholds": [0.0]}}, "threshold must be > 0"),
    ({"sleep": {"decay": 1.5}}, "decay must lie in (0, 1]"),
    ({"sleep": {"decay": 0.0}}, "decay must lie in (0, 1]"),
    ({"sleep": {"max_rate": 800.0, "spike_probability": "authors"}}, "lower max_rate below 500"),
    ({"model": {"widths": [10, 0, 4]}, "sleep": {"thresholds": [1, 1]}}, "width must be >= 1"),
    ({"sleep": {"record_potentials": {"hidden_1": [0]}}}, "this network has ['output']"),
    ({"sleep": {"record_potentials": {"output": [4]}}}, "outside 0..3"),
])
def test_bad_values_are_named_with_a_fix(values, message):
    with pytest.raises(BioSleepError) as error:
        config_from_dict(values)
    assert message in str(error.value)


def test_missing_config_file(tmp_path):
    with pytest.raises(BioSleepError, match="does not exist"):
        load_config(tmp_path / "nope.toml")


def test_invalid_toml(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[sleep\nsteps = 3")
    with pytest.raises(BioSleepError, match="not valid TOML"):
        load_config(path)
