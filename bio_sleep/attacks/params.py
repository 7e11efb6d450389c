"""Validated settings of each attack, with the ICLR 2020 paper's values as defaults (appendix 7.3)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationError, model_validator

from bio_sleep.config import _Section
from bio_sleep.errors import BioSleepError


class FGSMParams(_Section):
    """Minimal-perturbation FGSM: eta grows from eta_step in steps of eta_step up to eta_max (authors: 0.005 to 0.4)."""

    eta_max: float = Field(0.4, gt=0)
    eta_step: float = Field(0.005, gt=0, description="Grid resolution of each sample's smallest flipping eta.")
    curve_step: float = Field(0.01, gt=0, description="Eta spacing of the accuracy-against-eta curve (Figure 1).")

    @model_validator(mode="after")
    def _step_below_max(self):
        if self.eta_step > self.eta_max or self.curve_step > self.eta_max:
            raise ValueError(f"eta_step and curve_step must not exceed eta_max = {self.eta_max}")
        return self


class DeepFoolParams(_Section):
    """DeepFool; ART's ``epsilon`` is the overshoot: x' = x + (1 + overshoot) r (authors: factor 1.05)."""

    max_iter: int = Field(100, ge=1)
    overshoot: float = Field(0.05, ge=0)


class JSMAParams(_Section):
    """ART's saliency map with the paper's caps; see bio_sleep/attacks/jsma.py for how they map onto ART."""

    theta: float = Field(
        0.1, gt=0, description="Increase of a chosen feature per change, as a fraction of the clip range."
    )
    max_iter: int = Field(
        500,
        ge=2,
        description="Paper (foolbox): 500 iterations of one feature change each; ART "
        "changes two features per iteration, so it runs max_iter // 2 iterations.",
    )
    max_changes_per_feature: int = Field(7, ge=1, description="Paper: a pixel is changed at most 7 times.")
    target: Literal["second_most_likely", "random"] = "second_most_likely"


class BoundaryParams(_Section):
    """ART's BoundaryAttack from a uniform random start (Brendel et al.)."""

    max_iter: int = Field(
        1000, ge=1, description="Paper: 1000; about 5 s per MNIST image on one core at 1000 (MLP 784-1200-1200-10)."
    )
    num_trial: int = Field(25, ge=1)
    sample_size: int = Field(20, ge=1)
    init_size: int = Field(100, ge=1, description="Uniform random starting points tried until one is adversarial.")
    success_l2: float = Field(
        1.0, gt=0, description="Table 3: an attack counts as successful only if ||x' - x||_2 <= this."
    )


PARAMS = {"fgsm": FGSMParams, "deepfool": DeepFoolParams, "jsma": JSMAParams, "boundary": BoundaryParams}


def attack_params(name: str, values: dict | _Section | None = None) -> _Section:
    """The validated parameters of attack ``name``; unknown names or keys raise BioSleepError."""
    if name not in PARAMS:
        raise BioSleepError(f"unknown attack '{name}'; choose from {sorted(PARAMS)}")
    if isinstance(values, PARAMS[name]):
        return values
    try:
        return PARAMS[name].model_validate(dict(values or {}))
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        raise BioSleepError(
            f"bad parameters for attack '{name}': {problems} (known: {sorted(PARAMS[name].model_fields)})"
        ) from None
