"""Shared fixtures: a small network and dynamics, and a cache folder per session."""

import pytest

from bio_sleep.converters import SleepDynamics
from helpers import small_network


@pytest.fixture(autouse=True, scope="session")
def _cache_dir(tmp_path_factory):
    import os

    os.environ["BIO_SLEEP_CACHE"] = str(tmp_path_factory.mktemp("cache"))


@pytest.fixture
def network():
    return small_network()


@pytest.fixture
def dynamics():
    return SleepDynamics(0.95, 0.01, 0.003, "constant", "above")
