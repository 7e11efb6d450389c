"""Analyses of sleep: spike-recording statistics and views, weight changes, the papers' figures."""
from bio_sleep.analysis.report import analyse_recording, layer_statistics, open_recording
from bio_sleep.analysis.spikes import count_correlation, firing_rates, isi_statistics, population_rate, spike_trains
from bio_sleep.analysis.weights import weights_dataset

__all__ = ["analyse_recording", "layer_statistics", "open_recording", "count_correlation", "firing_rates",
           "isi_statistics", "population_rate", "spike_trains", "weights_dataset"]
