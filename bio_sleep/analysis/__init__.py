"""Analyses of sleep: spike-recording statistics and views, weight changes, the papers' figures."""

from importlib import import_module

# Each name is imported from its module on first use: `bio-sleep --help` reads this package's cli module,
# and importing the whole package (torch, ART, Dask) would take seconds.
_MODULES = {
    "analyse_recording": "report",
    "layer_statistics": "report",
    "open_recording": "report",
    "count_correlation": "spikes",
    "firing_rates": "spikes",
    "isi_statistics": "spikes",
    "population_rate": "spikes",
    "spike_trains": "spikes",
    "weights_dataset": "weights",
}
__all__ = list(_MODULES)


def __getattr__(name: str):
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_MODULES[name]}"), name)
