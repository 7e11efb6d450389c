"""Configs: the embedded default, the experiment files, and clear errors for bad values."""

import tomllib
from pathlib import Path

import pytest

from bio_sleep.config import config_from_dict, config_to_toml, default_config, load_config
from bio_sleep.errors import BioSleepError

EXPERIMENTS = Path(__file__).parents[1] / "experiments"


def test_patches_experiment_file_is_the_embedded_default():
    assert load_config(EXPERIMENTS / "patches.toml") == default_config()


@pytest.mark.parametrize("path", sorted(EXPERIMENTS.glob("*.toml")), ids=lambda p: p.name)
def test_every_experiment_config_is_valid_and_recognised_by_its_sections(path, capsys):
    """`bio-sleep config` reads each file as the kind its name prefix says, and prints it."""
    from bio_sleep.cli import load_any_config, main
    from bio_sleep.robustness import RobustnessConfig
    from bio_sleep.src.config import SrcExperimentConfig
    from bio_sleep.studies.config import StudyConfig
    from bio_sleep.studies.search import SearchConfig

    kinds = [
        ("src_", SrcExperimentConfig),
        ("robustness_", RobustnessConfig),
        ("study_search_", SearchConfig),
        ("study_", StudyConfig),
    ]
    expected = next((kind for prefix, kind in kinds if path.name.startswith(prefix)), type(default_config()))
    assert type(load_any_config(path)) is expected
    main(["config", str(path)])
    assert tomllib.loads(capsys.readouterr().out)["name"]


def test_written_config_reads_back_identically():
    config = default_config()
    assert config_from_dict(tomllib.loads(config_to_toml(config))) == config


@pytest.mark.parametrize(
    "values, message",
    [
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
    ],
)
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


def test_the_spike_probability_is_derived_once_by_the_config():
    from bio_sleep.config import SleepConfig
    from bio_sleep.sleep.input_spikes import probability_scale

    for convention in ("paper", "authors"):
        sleep = SleepConfig(max_rate=40.0, dt=0.001, spike_probability=convention)
        assert sleep.input_probability == probability_scale(40.0, 0.001, convention)
    assert SleepConfig(max_rate=40.0, spike_probability="authors").input_probability == pytest.approx(0.08)


def test_every_config_section_shares_one_strict_base():
    from pydantic import BaseModel

    from bio_sleep.attacks.params import PARAMS
    from bio_sleep.config import ExperimentConfig, _Section
    from bio_sleep.robustness.config import RobustnessConfig
    from bio_sleep.src.config import SrcExperimentConfig
    from bio_sleep.studies.config import StudyConfig
    from bio_sleep.studies.search import SearchConfig

    def sections(model):
        yield model
        for field in model.model_fields.values():
            for kind in getattr(field.annotation, "__args__", (field.annotation,)):
                if isinstance(kind, type) and issubclass(kind, BaseModel):
                    yield from sections(kind)

    for root in (ExperimentConfig, RobustnessConfig, SrcExperimentConfig, StudyConfig, SearchConfig, *PARAMS.values()):
        assert all(issubclass(section, _Section) for section in sections(root)), root


def test_result_identity_leaves_out_where_torch_runs_but_keeps_what_changes_results():
    """A folder written before training.device and sleep.threads existed must still resume (issue 11's MNIST run)."""
    from bio_sleep.config import result_identity
    from bio_sleep.robustness import robustness_config_from_dict

    config = robustness_config_from_dict({"name": "x"})
    identity = result_identity(config)
    assert "device" not in identity["training"] and "threads" not in identity["sleep"]
    assert "output_dir" not in identity
    on_two_threads = robustness_config_from_dict({"name": "x", "sleep": {"threads": 2}, "training": {"device": "cpu"}})
    assert result_identity(on_two_threads) == identity
    assert result_identity(robustness_config_from_dict({"name": "x", "sleep": {"inc": 0.5}})) != identity
