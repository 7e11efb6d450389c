"""The CNN paper's claims, each checked against the per-trial results of one run folder.

Every measured value is a per-trial quantity summarised by :func:`bio_sleep.statistics.summarise`; differences
between models are paired by trial. Each claim names the rule that decides "reproduced" (``RULES``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from bio_sleep.plotting import distortion_name, model_name
from bio_sleep.statistics import Summary, summarise

RULES = {
    "gain": "yes: the interval's lower end reaches half the paper's gain; partly: it is above 0; no: otherwise",
    "value": "yes: the interval contains the paper's value and the mean is within a factor 2 of it; partly: the "
    "mean has the paper's sign; no: otherwise",
    "above": "yes: the interval is above 0; partly: the mean is above 0; no: otherwise",
    "not above": "yes: the interval's lower end is at or below 0 (SRC does not beat the baseline); no: it is above 0",
    "recovered": "yes: the mean is within 1 point of 0; partly: SRC+FFF is above SRC (paired interval above 0); "
    "no: otherwise",
    "none": "yes: the largest mean gain at any level is below 1 point; no: otherwise",
    "context": "not a claim about SRC: the baseline's strength, which changes what SRC does",
}

# Section III-A/B: the largest SRC gain at high distortion (Figure 2a MNIST, 2g CIFAR-10) and the clean drop.
PAPER = {
    "mnist": {"gain": 15.0, "gain_where": "Sec. III-A, Fig. 2a", "clean": -1.5, "baseline": 95.0},
    "cifar10": {"gain": 10.0, "gain_where": "Sec. III-A, Fig. 2g", "clean": -10.0, "baseline": 70.0},
}
NA = "– (n = 1)"


@dataclass(frozen=True)
class Claim:
    claim: str
    paper: str
    measured: Summary
    rule: str
    verdict: str
    spec: str = ".1f"  # the measured value's format: .2f for clean accuracy, .3g for small analysis values


def sweep_names(results: xr.Dataset) -> list[str]:
    return [
        n.removeprefix("accuracy_") for n in results.data_vars if n.startswith("accuracy_") and n != "accuracy_clean"
    ]


def paired_gain(results: xr.Dataset, variable: str, model: str, reference: str = "baseline") -> xr.DataArray:
    """``model`` minus ``reference`` per trial (same seed, same test images), in points."""
    return (results[variable].sel(network=model) - results[variable].sel(network=reference)) * 100


def largest_gain(results: xr.Dataset, distortion: str, model: str = "src") -> tuple[float, Summary]:
    """The distorted level (> 0) where ``model`` gains most over the baseline on average, and that gain's summary.

    The level is picked on the same trials it is summarised over, so the interval is optimistic (a maximum)."""
    gain = paired_gain(results, f"accuracy_{distortion}", model)
    gain = gain.where(gain[f"{distortion}_level"] > 0, drop=True)
    best = int(np.argmax(gain.mean("trial").values))
    return float(gain[f"{distortion}_level"][best]), summarise(gain.isel({f"{distortion}_level": best}).values)


def claims_table(claims: list[Claim]) -> list[str]:
    """The claims as markdown table lines: claim, paper value and where, measured, n, verdict and its rule."""
    lines = [
        "| claim | paper (where) | measured: mean ± sd [95 % CI] | n | reproduced (rule) |",
        "|---|---|---|---|---|",
    ]
    return lines + [
        f"| {c.claim} | {c.paper} | {c.measured.text(c.spec, signed=c.rule != 'context')} | {c.measured.n} | "
        f"{c.verdict if c.verdict == NA else f'{c.verdict} ({c.rule})'} |"
        for c in claims
    ]


def gain_verdict(gain: Summary, claimed: float) -> str:
    if gain.n < 2:
        return NA
    return "yes" if gain.low >= claimed / 2 else "partly" if gain.low > 0 else "no"


def value_verdict(measured: Summary, claimed: float) -> str:
    if measured.n < 2:
        return NA
    if measured.low <= claimed <= measured.high and 0.5 <= measured.mean / claimed <= 2:
        return "yes"
    return "partly" if measured.mean / claimed > 0 else "no"


def above_verdict(measured: Summary) -> str:
    if measured.n < 2:
        return NA
    return "yes" if measured.low > 0 else "partly" if measured.mean > 0 else "no"


def _sweep_mean(results: xr.Dataset, distortion: str, model: str, reference: str) -> Summary:
    """Paired difference of the accuracy averaged over a sweep's levels, in points."""
    return summarise(paired_gain(results, f"accuracy_{distortion}", model, reference).mean(f"{distortion}_level"))


def figure2_claims(results: xr.Dataset, dataset: str) -> list[Claim]:
    """Sections III-A/B: SRC's gain at high distortion, its clean-accuracy cost, and what FFF recovers and keeps."""
    paper, models = PAPER[dataset], set(results.network.values)
    baseline = summarise(results.accuracy_clean.sel(network="baseline").values, 100)
    claims = [
        Claim("baseline clean accuracy (%)", f"~{paper['baseline']:g} (Sec. III-A)", baseline, "context", "–", ".2f")
    ]
    if "src" not in models:
        return claims
    clean = summarise(paired_gain(results, "accuracy_clean", "src").values)
    claims.append(
        Claim(
            "clean accuracy change after SRC (points)",
            f"about {paper['clean']:g} (Sec. III-B)",
            clean,
            "value",
            value_verdict(clean, paper["clean"]),
            ".2f",
        )
    )
    for distortion in sweep_names(results):
        level, gain = largest_gain(results, distortion)
        name = distortion_name(distortion)
        if dataset == "cifar10" and distortion == "gaussian_blur":
            claims.append(
                Claim(
                    f"SRC not above baseline under {name} (largest gain, at {level:g})",
                    "below baseline (Sec. III-A, Fig. 2e)",
                    gain,
                    "not above",
                    NA if gain.n < 2 else "no" if gain.low > 0 else "yes",
                )
            )
            continue
        claims.append(
            Claim(
                f"largest SRC gain under {name} (at {level:g}, picked by the mean)",
                f"up to ~{paper['gain']:g} ({paper['gain_where']})",
                gain,
                "gain",
                gain_verdict(gain, paper["gain"]),
            )
        )
        if "src_fff" in models:
            kept = summarise(
                paired_gain(results, f"accuracy_{distortion}", "src_fff").sel({f"{distortion}_level": level}).values
            )
            claims.append(
                Claim(
                    f"SRC+FFF gain under {name} at the same level",
                    f"kept: near SRC's, up to ~{paper['gain']:g} (Sec. III-B)",
                    kept,
                    "gain",
                    gain_verdict(kept, paper["gain"]),
                )
            )
    if "src_fff" in models:
        recovered = summarise(paired_gain(results, "accuracy_clean", "src_fff").values)
        over_src = summarise(paired_gain(results, "accuracy_clean", "src_fff", "src").values)
        verdict = "yes" if abs(recovered.mean) <= 1 else "partly" if above_verdict(over_src) == "yes" else "no"
        verdict = NA if recovered.n < 2 else verdict
        claims.append(
            Claim(
                "clean accuracy of SRC+FFF − baseline (points)",
                "~0 (Sec. III-B)",
                recovered,
                "recovered",
                verdict,
                ".2f",
            )
        )
    return claims


def figure3_claims(results: xr.Dataset) -> list[Claim]:
    """Sections III-C/D: fine-tuning leads on its own distortion; SRC beats Gradient Expansion, which gains nothing."""
    models, claims = set(results.network.values), []
    for distortion in sweep_names(results):
        name = distortion_name(distortion)
        tuned = f"finetune_{distortion}"
        untuned = [m for m in models if not m.startswith("finetune_")]
        if tuned in models:
            means = {m: float(results[f"accuracy_{distortion}"].sel(network=m).mean()) for m in untuned}
            rival = max(means, key=means.get)
            lead = _sweep_mean(results, distortion, tuned, rival)
            claims.append(
                Claim(
                    f"{model_name(tuned)} − best other ({model_name(rival)}), mean over the {name} sweep",
                    "fine-tuned model leads on its distortion (Sec. III-C, Fig. 3)",
                    lead,
                    "above",
                    above_verdict(lead),
                )
            )
        if {"src", "grad_exp"} <= models:
            edge = _sweep_mean(results, distortion, "src", "grad_exp")
            claims.append(
                Claim(
                    f"SRC − gradient expansion, mean over the {name} sweep",
                    "SRC above Gradient Expansion (Sec. III-D, Fig. 3)",
                    edge,
                    "above",
                    above_verdict(edge),
                )
            )
        if "grad_exp" in models:
            level, gain = largest_gain(results, distortion, "grad_exp")
            claims.append(
                Claim(
                    f"largest gradient-expansion gain under {name} (at {level:g})",
                    "< 1 point at every intensity (Sec. III-D)",
                    gain,
                    "none",
                    NA if gain.n < 2 else "yes" if gain.mean < 1 else "no",
                )
            )
    return claims


def run_claims(results: xr.Dataset, dataset: str | None = None) -> list[Claim]:
    """Every claim a run's results can check: Figure 2's, and Figure 3's where its models are there.

    ``dataset`` defaults to the one the run recorded (``results.attrs['dataset']``)."""
    dataset = dataset or results.attrs.get("dataset", "")
    if dataset not in PAPER:
        return []
    return figure2_claims(results, dataset) + figure3_claims(results)


def analysis_claims(analyses: xr.Dataset) -> list[Claim]:
    """Tables III, IV and VI (Sec. III-D/E) from ``bio-sleep analyse-cnn --run``'s per-trial ``cnn_analyses.nc``."""
    models, claims = set(analyses.model.values), []
    for k, conv in enumerate(analyses.conv.values):
        layer = analyses.isel(layer=k)
        if {"baseline", "src"} <= models:
            grows = summarise(
                layer.gradient_variance.sel(model="src").values - layer.gradient_variance.sel(model="baseline").values
            )
            claims.append(
                Claim(
                    f"SRC − baseline, variance of the spatial gradients, {conv}",
                    "SRC increases it (Sec. III-D, Table III)",
                    grows,
                    "above",
                    above_verdict(grows),
                    ".3g",
                )
            )
        if {"baseline", "src", "grad_exp"} <= models:
            kl = layer.kl_fitted_gaussians
            closer = summarise(
                kl.sel(reference="baseline", model="src").values - kl.sel(reference="grad_exp", model="src").values
            )
            claims.append(
                Claim(
                    f"KL(baseline ‖ SRC) − KL(gradient expansion ‖ SRC), fitted Gaussians, {conv}",
                    "SRC closer to gradient expansion than to the baseline (Sec. III-D, Table IV)",
                    closer,
                    "above",
                    above_verdict(closer),
                    ".3g",
                )
            )
    if "attention_overlap" in analyses and {"baseline", "src"} <= models:
        overlap = analyses.attention_overlap.sel(condition="all")
        better = summarise(overlap.sel(model="src").values - overlap.sel(model="baseline").values)
        claims.append(
            Claim(
                "SRC − baseline, Grad-CAM attention overlap over every condition",
                "+0.084 (0.229 vs 0.145; Sec. III-E, Table VI)",
                better,
                "above",
                above_verdict(better),
                ".3g",
            )
        )
    return claims
