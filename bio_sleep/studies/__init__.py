"""Parameter studies and searches of sleep, run on dask.distributed."""

from bio_sleep.lazy import lazy_exports

_MODULES = {
    "StudyConfig": "config",
    "load_study": "config",
    "study_from_dict": "config",
    "run_study": "runner",
}
__all__ = list(_MODULES)

__getattr__ = lazy_exports(__name__, _MODULES)
