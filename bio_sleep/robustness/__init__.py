"""The ICLR 2020 adversarial robustness study: config, networks, runner, report."""
from bio_sleep.robustness.config import RobustnessConfig, load_robustness_config, robustness_config_from_dict
from bio_sleep.robustness.study import run_study

__all__ = ["RobustnessConfig", "load_robustness_config", "robustness_config_from_dict", "run_study"]
