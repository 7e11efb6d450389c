"""Analyses of sleep: spike-recording statistics and views, weight changes, the papers' figures."""

from bio_sleep.lazy import lazy_exports

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

__getattr__ = lazy_exports(__name__, _MODULES)
