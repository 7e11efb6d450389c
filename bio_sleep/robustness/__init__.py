"""The ICLR 2020 adversarial robustness study: config, networks, runner, report."""

from bio_sleep.lazy import lazy_exports

_MODULES = {
    "RobustnessConfig": "config",
    "load_robustness_config": "config",
    "robustness_config_from_dict": "config",
    "run_study": "study",
}
__all__ = list(_MODULES)

__getattr__ = lazy_exports(__name__, _MODULES)
