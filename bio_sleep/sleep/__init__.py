"""The sleep phase: input rasters, the Brian2 and torch backends, recordings."""

from bio_sleep.sleep.recording import SleepRecording
from bio_sleep.sleep.run import SleepResult, sleep_model

__all__ = ["SleepRecording", "SleepResult", "sleep_model"]
