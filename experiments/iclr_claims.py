"""The ICLR 2020 paper's claims, one row each: the paper's value, what the committed data files give over seeds
(mean ± sd [95 % t-interval]), and whether it is reproduced.

    python experiments/iclr_claims.py      # writes experiments/results/iclr_claims.md

Reads only committed result folders under experiments/results/ (a missing one is listed with the command that
makes it). Comparisons are paired per seed (the same control under every defence). Rule: **yes** when the
paper's direction holds and the 95 % interval of the paired difference excludes 0 (for "about k times": the mean
ratio within [k/2, 2k] as well); **partly** when the interval excludes 0 but the size is far from the paper's, or
the mean is in the paper's direction with an interval that includes 0 but reaches less far below 0 than the mean
lies above it (and, where the paper gives both values, the mean is at least half the paper's difference);
**no** otherwise. FGSM scores of samples that never flip
are infinite (gradient masking); they enter a difference at the attack's largest eta (censored), and the row says
in how many seeds.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from bio_sleep.run_folder import write_atomic
from bio_sleep.statistics import summarise

RESULTS = Path(__file__).with_name("results")
OUT = RESULTS / "iclr_claims.md"
# (data, sleep parameters, folder, command that makes it)
RUNS = [
    (
        "patches",
        "paper values",
        "robustness_patches_5seeds",
        "bio-sleep robustness experiments/robustness_patches.toml --out experiments/results/robustness_patches_5seeds",
    ),
    (
        "patches",
        "calibrated rate 0.01",
        "robustness_patches_5seeds_calibrated",
        "bio-sleep robustness experiments/robustness_patches.toml --set 'sleep.target_rates=[0.01]' "
        "--out experiments/results/robustness_patches_5seeds_calibrated",
    ),
    (
        "patches",
        "searched (validation, seed 0)",
        "robustness_patches_5seeds_searched",
        "bio-sleep robustness experiments/robustness_patches.toml --set 'sleep.thresholds=[1.1726685291573673]' "
        "--set sleep.alpha_scale=38.445253813560534 --set sleep.inc=0.014264179486641894 "
        "--set sleep.dec=0.00010215290838914055 --out experiments/results/robustness_patches_5seeds_searched  "
        "# the best point of experiments/results/search_iclr_patches/best_config.toml",
    ),
    (
        "mnist",
        "paper values",
        "robustness_mnist_3seeds",
        "bio-sleep robustness experiments/robustness_mnist.toml --set study.repeats=3 --set attacks.workers=1 "
        "--out experiments/results/robustness_mnist_3seeds",
    ),
    (
        "mnist",
        "calibrated rate 3e-6 (2.5e-5 for the DeepFool/JSMA sleep)",
        "robustness_mnist_3seeds_calibrated",
        "bio-sleep robustness experiments/robustness_mnist.toml --set study.repeats=3 --set attacks.workers=1 "
        "--set 'sleep.target_rates=[3e-6, 0, 0]' "
        "--set 'defences.sleep_per_attack.deepfool.target_rates=[2.5e-5, 0, 0]' "
        "--set 'defences.sleep_per_attack.jsma.target_rates=[2.5e-5, 0, 0]' "
        "--out experiments/results/robustness_mnist_3seeds_calibrated",
    ),
    (
        "mnist",
        "searched (validation, seed 0; rate x 27,105 / 3,365 for the DeepFool/JSMA sleep)",
        "robustness_mnist_3seeds_searched",
        "bio-sleep robustness experiments/robustness_mnist.toml --set study.repeats=3 --set attacks.workers=1 "
        "--set 'sleep.target_rates=[4.2946895060593935e-06, 0, 0]' --set sleep.inc=0.14489565965169823 "
        "--set sleep.dec=0.009558414230501154 "
        + "".join(
            f"--set 'defences.sleep_per_attack.{attack}.target_rates=[3.4593e-05, 0, 0]' "
            f"--set defences.sleep_per_attack.{attack}.inc=0.14489565965169823 "
            f"--set defences.sleep_per_attack.{attack}.dec=0.009558414230501154 "
            for attack in ("deepfool", "jsma")
        )
        + "--out experiments/results/robustness_mnist_3seeds_searched  "
        "# the best point of experiments/results/search_iclr_mnist_fgsm/best_config.toml",
    ),
]
PAPER_PATCHES = {  # Table 4 (score, attack success rate)
    "fgsm": {"control": 0.0175, "distillation": 0.05, "fine_tuning": 0.1425, "sleep": 0.2025},
    "deepfool": {"control": 0.0440, "distillation": 0.0360, "fine_tuning": 0.0201, "sleep": 0.0124},
    "jsma": {"control": 0.0049, "distillation": 0.0135, "fine_tuning": 0.0450, "sleep": 0.0541},
    "boundary": {"control": 0.2971, "distillation": 0.3124, "fine_tuning": 0.1772, "sleep": 0.3515},
}


@dataclass
class Claim:
    source: str
    claim: str
    paper: str
    measured: str
    n: int
    verdict: str


def _censored(summary: xr.Dataset, attack: str, network: str, eta_max: float) -> tuple[np.ndarray, int]:
    values = summary.score.sel(attack=attack, network=network).values.astype(float)
    infinite = int(np.isinf(values).sum())
    return np.where(np.isinf(values), eta_max, values), infinite


def _verdict(
    differences: np.ndarray, ratio: float | None = None, factor: float | None = None, paper: float | None = None
) -> str:
    """yes / partly / no for a claim that ``differences`` (paired, per seed) are positive; ``paper``: the paper's
    own difference, when it gives one (an interval across 0 is then "partly" only for at least half of it)."""
    s = summarise(differences)
    if s.mean <= 0:
        return "no"
    if s.n < 2:
        return "partly"
    if s.low <= 0:
        near = -s.low < s.mean  # the interval reaches less far below 0 than the mean lies above it
        return "partly" if near and (paper is None or s.mean >= paper / 2) else "no"
    if factor is not None and not factor / 2 <= ratio <= 2 * factor:
        return "partly"
    return "yes"


def _difference_text(values: np.ndarray, spec: str, infinite: int = 0) -> str:
    text = summarise(values).text(spec, signed=True)
    return text + (f"; never flipped in {infinite} seed(s), counted at the largest eta" if infinite else "")


def attack_claims(source: str, kind: str, folder: Path) -> list[Claim]:
    summary = xr.load_dataset(folder / "summary.nc")
    eta_max = tomllib.loads(summary.attrs["config"])["attacks"]["fgsm"]["eta_max"]
    n = summary.sizes["seed"]
    attacks = list(summary.attack.values)
    claims = []

    def higher(attack, better, worse, claim, paper, factor=None):
        if attack not in attacks:
            return
        a, inf_a = _censored(summary, attack, better, eta_max)
        b, inf_b = _censored(summary, attack, worse, eta_max)
        ratio = float(np.mean(a / b)) if factor is not None else None
        spec = ".4f" if attack == "fgsm" else ".2e"
        measured = f"{better} − {worse}: {_difference_text(a - b, spec, inf_a + inf_b)}"
        if factor is not None:
            measured += f"; ratio {ratio:.2f}"
        values = PAPER_PATCHES.get(attack, {}) if kind == "patches" else {}
        paper_difference = values[better] - values[worse] if values else None
        claims.append(Claim(source, claim, paper, measured, n, _verdict(a - b, ratio, factor, paper_difference)))

    def lower_rate(attack, better, worse, claim, paper):
        if attack not in attacks:
            return
        rate = summary.success_rate.sel(attack=attack)
        difference = (rate.sel(network=worse) - rate.sel(network=better)).values * 100
        measured = (
            f"success rate {better} {summarise(rate.sel(network=better).values * 100).text('.1f', note=False)} %, "
            f"{worse} {summarise(rate.sel(network=worse).values * 100).text('.1f', note=False)} %; "
            f"{worse} − {better}: {_difference_text(difference, '.1f')} points"
        )
        claims.append(Claim(source, claim, paper, measured, n, _verdict(difference)))

    if kind == "patches":
        p = PAPER_PATCHES
        for other in ("control", "distillation", "fine_tuning"):
            higher(
                "fgsm",
                "sleep",
                other,
                f"FGSM: sleep needs a larger eta than {other}",
                f"{p['fgsm']['sleep']} vs {p['fgsm'][other]}",
            )
        higher("jsma", "sleep", "control", "JSMA: sleep needs a larger distance than the control", "0.0541 vs 0.0049")
        higher("boundary", "sleep", "control", "Boundary: sleep scores above the control", "0.3515 vs 0.2971")
        higher(
            "deepfool",
            "control",
            "sleep",
            "DeepFool: sleep does not help (control's distance larger)",
            "0.0440 vs 0.0124",
        )
    else:
        for other in ("fine_tuning", "distillation"):
            higher(
                "fgsm", "sleep", other, f"FGSM: sleep's median eta about twice {other}'s", "about 2x (text)", factor=2.0
            )
        higher(
            "deepfool",
            "sleep",
            "control",
            "DeepFool: distance about 10x larger after sleep",
            "about 10x (text)",
            factor=10.0,
        )
        lower_rate("deepfool", "sleep", "control", "DeepFool: success rate lower after sleep", "lower (text)")
        lower_rate("jsma", "sleep", "control", "JSMA: success rate lower after sleep", "lower (text)")
        if "boundary" in attacks:
            b = summary.score.sel(attack="boundary")
            best = max(("distillation", "fine_tuning", "sleep"), key=lambda m: float(b.sel(network=m).mean()))
            difference = (b.sel(network=best) - b.sel(network="control")).values
            verdict = "yes" if n < 2 or summarise(difference).low <= 0 else "no"
            claims.append(
                Claim(
                    source,
                    "Boundary: no defence beats the control",
                    "none helps (text)",
                    f"best defence ({best}) − control: {_difference_text(difference, '.2e')}",
                    n,
                    verdict,
                )
            )
    return claims


def sweep_claims(source: str, sweeps: xr.Dataset, label: str) -> list[Claim]:
    claims = []
    n = sweeps.sizes["seed"]
    for distortion in ("gaussian_noise", "gaussian_blur"):
        variable = f"accuracy_{distortion}"
        if variable not in sweeps:
            continue
        mean = sweeps[variable].mean(dim=f"{distortion}_level")
        difference = (mean.sel(network="sleep") - mean.sel(network="control")).values * 100
        claims.append(
            Claim(
                source,
                f"{label}: sleep above the control under {distortion.replace('gaussian_', '')} (sweep mean)",
                "above (Figure 2 / 5)",
                f"sleep − control: {_difference_text(difference, '.1f')} points",
                n,
                _verdict(difference),
            )
        )
        tuned = f"fine_tuning_{distortion}"
        if tuned in sweeps.network.values:
            difference = (mean.sel(network=tuned) - mean.sel(network="sleep")).values * 100
            claims.append(
                Claim(
                    source,
                    f"{label}: fine-tuning on {distortion.replace('gaussian_', '')} is best on it",
                    "best on its own distortion",
                    f"fine-tuned − sleep: {_difference_text(difference, '.1f')} points",
                    n,
                    _verdict(difference),
                )
            )
    return claims


def clean_claim(source: str, sweeps: xr.Dataset) -> Claim:
    clean = sweeps.accuracy_clean.sel(network="sleep").values * 100
    s = summarise(clean)
    verdict = "yes" if abs(s.mean - 80) <= 5 else ("partly" if s.mean < 90 else "no")
    return Claim(
        source,
        "Clean accuracy after sleep about 80 %",
        "80 %",
        f"{s.text('.1f')} %",
        s.n,
        verdict,
    )


ANALYSES = "iclr_mnist_analyses"  # analyses.nc, from experiments/iclr_analyses_summary.py over its seed_<k>/


def analysis_claims(data: xr.Dataset) -> list[Claim]:
    """Figures 13-17 over seeds: class correlations (hidden layers, the paper's layers 2-3) and the responses of
    each class's top-100 neurons, sleep against the control, one value per seed (mean over classes)."""
    source = f"mnist, calibrated rate 3e-6 (`{ANALYSES}`)"
    n = data.sizes["seed"]
    claims = []
    change = data.difference_to_control.sel(network="sleep")
    diagonal = xr.DataArray(np.eye(data.sizes["class_a"], dtype=bool), dims=("class_a", "class_b"))
    for condition in data.condition.values:
        for layer in data.layer.values[:-1]:  # the last is the output
            cell = change.sel(condition=condition, layer=layer)
            same = cell.where(diagonal).mean(("class_a", "class_b")).values
            distinct = -cell.where(~diagonal).mean(("class_a", "class_b")).values
            where = f"hidden layer {layer} (paper's layer {layer + 1}), {condition} inputs"
            claims.append(
                Claim(
                    source,
                    f"Figures 13-15: same-class correlation rises after sleep, {where}",
                    "diagonal rises",
                    f"sleep − control, mean of the diagonal: {_difference_text(same, '.3f')}",
                    n,
                    _verdict(same),
                )
            )
            claims.append(
                Claim(
                    source,
                    f"Figures 13-15: distinct classes decorrelate after sleep, {where}",
                    "off-diagonal falls",
                    f"control − sleep, mean off the diagonal: {_difference_text(distinct, '.3f')}",
                    n,
                    _verdict(distinct),
                )
            )
    for variable, figure, domain in (
        ("normalised_spike_count", "Figure 16", "spike counts"),
        ("normalised_activation", "Figure 17", "activations"),
    ):
        for layer in data.hidden_layer.values:
            values = data[variable].sel(hidden_layer=layer)
            after, before = values.sel(relative_to_sleep="after"), values.sel(relative_to_sleep="before")
            rise = (after - before).mean("class").values
            classes = (after > before).sum("class").values
            measured = (
                "the layer did not spike, before or after sleep, in any seed"
                if not values.values.any()
                else f"after − before, mean over classes: {_difference_text(rise, '.3f')}; higher in "
                f"{', '.join(map(str, classes))} of 10 classes per seed"
            )
            claims.append(
                Claim(
                    source,
                    f"{figure}: the top-100 class-specific neurons respond more after sleep ({domain}, hidden layer "
                    f"{layer}, noisy inputs)",
                    "higher after sleep" + (" for every digit" if figure == "Figure 17" else ", usually"),
                    measured,
                    n,
                    _verdict(rise),
                )
            )
    return claims


SOURCES = ("paper values", "calibrated", "searched")  # the three parameter sources, by how RUNS' labels begin


def side_by_side(verdicts: dict[tuple[str, str], dict[str, str]]) -> list[str]:
    """One row per (data, claim), one verdict column per parameter source."""
    return [
        f"| data | claim | {' | '.join(SOURCES)} |",
        "|---|---|" + "---|" * len(SOURCES),
        *(
            f"| {kind} | {claim} | {' | '.join(row.get(source, 'not run') for source in SOURCES)} |"
            for (kind, claim), row in verdicts.items()
        ),
    ]


def main() -> None:
    claims, missing = [], []
    verdicts: dict[tuple[str, str], dict[str, str]] = {}
    for kind, parameters, name, command in RUNS:
        folder = RESULTS / name
        source = f"{kind}, {parameters} (`{name}`)"
        if not (folder / "summary.nc").exists():
            missing.append(f"- {source}: no summary.nc yet; make it with `{command}`")
            continue
        sweeps = xr.load_dataset(folder / "sweeps.nc")
        run_claims = attack_claims(source, kind, folder) + sweep_claims(source, sweeps, "sweeps")
        if kind == "mnist":
            run_claims.append(clean_claim(source, sweeps))
        column = next(s for s in SOURCES if parameters.startswith(s))
        for claim in run_claims:
            verdicts.setdefault((kind, claim.claim), {})[column] = claim.verdict
        claims += run_claims
    for figure2 in sorted(RESULTS.glob("iclr_mnist_figure2*/figure2.nc")):  # one folder per batch of sources
        data = xr.load_dataset(figure2)
        for parameter_source in data.source.values:
            figure2_claims = sweep_claims(
                f"mnist, {parameter_source} values (`{figure2.parent.name}`)",
                data.sel(source=parameter_source),
                "Figure 2",
            )
            column = next(s for s in SOURCES if s.startswith(str(parameter_source)))
            for claim in figure2_claims:
                verdicts.setdefault(("mnist", claim.claim), {})[column] = claim.verdict
            claims += figure2_claims
    if (RESULTS / ANALYSES / "analyses.nc").exists():
        claims += analysis_claims(xr.load_dataset(RESULTS / ANALYSES / "analyses.nc"))
    else:
        missing.append(f"- mnist analyses (`{ANALYSES}`): see experiments/robustness_README.md for the commands")
    lines = [
        "# ICLR 2020 claims, reproduced from committed data",
        "",
        "Generated by `python experiments/iclr_claims.py` from the folders named below; rule in the script's "
        "docstring (yes: paired 95 % interval excludes 0 in the paper's direction; partly: the size is far off, or "
        "the direction holds but the interval just includes 0; no).",
        "",
        "## The three parameter sources side by side",
        "",
        *side_by_side(verdicts),
        "",
        "## Every claim, with its numbers",
        "",
        "| data | claim | paper | measured, mean ± sd [95 % CI] over seeds | seeds | reproduced |",
        "|---|---|---|---|---|---|",
        *(f"| {c.source} | {c.claim} | {c.paper} | {c.measured} | {c.n} | {c.verdict} |" for c in claims),
    ]
    if missing:
        lines += ["", "Not run yet:", *missing]
    write_atomic(OUT, lambda path: path.write_text("\n".join(lines) + "\n"))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
