"""Parameter studies and searches of sleep, run on dask.distributed."""

from importlib import import_module

# Each name is imported from its module on first use: `bio-sleep --help` reads this package's cli module,
# and importing the whole package (torch, ART, Dask) would take seconds.
_MODULES = {
    "StudyConfig": "config",
    "load_study": "config",
    "study_from_dict": "config",
    "run_study": "runner",
}
__all__ = list(_MODULES)


def __getattr__(name: str):
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_MODULES[name]}"), name)
