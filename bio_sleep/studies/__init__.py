"""Parameter studies and searches of sleep, run on dask.distributed."""
from bio_sleep.studies.config import StudyConfig, load_study, study_from_dict
from bio_sleep.studies.runner import run_study

__all__ = ["StudyConfig", "load_study", "study_from_dict", "run_study"]
