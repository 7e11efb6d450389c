"""The SRC report's tables and the claim-by-claim table, on hand-made per-trial results with known answers."""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from bio_sleep.src.claims import analysis_claims, largest_gain, run_claims, value_verdict
from bio_sleep.src.report import markdown_table
from bio_sleep.statistics import summarise

ROOT = Path(__file__).parents[1]
NETWORKS = ["baseline", "src", "src_fff", "grad_exp"]
LEVELS = [0.0, 0.3, 0.6]


def _results(trials: int = 4) -> xr.Dataset:
    """Baseline 95 % clean, 60 / 30 % under noise; SRC +10 points at 0.6 with a spread of 1 point per trial."""
    spread = np.arange(trials) - (trials - 1) / 2  # mean 0
    clean = {"baseline": 0.95, "src": 0.935, "src_fff": 0.95, "grad_exp": 0.95}
    noise = {"baseline": [0.95, 0.6, 0.3], "src": [0.935, 0.62, 0.4], "src_fff": [0.95, 0.6, 0.38],
             "grad_exp": [0.95, 0.6, 0.305]}  # fmt: skip
    accuracy_clean = np.array([[clean[n] + 0.001 * s * (1 + (n == "src")) for n in NETWORKS] for s in spread])
    accuracy_noise = np.array([[np.array(noise[n]) + 0.01 * s * (n == "src") for n in NETWORKS] for s in spread])
    return xr.Dataset(
        {
            "accuracy_clean": (("trial", "network"), accuracy_clean),
            "accuracy_gaussian_noise": (("trial", "network", "gaussian_noise_level"), accuracy_noise),
        },
        coords={"trial": range(trials), "network": NETWORKS, "gaussian_noise_level": LEVELS},
        attrs={"name": "synthetic", "dataset": "mnist"},
    )


def test_largest_gain_is_paired_and_skips_the_clean_level():
    level, gain = largest_gain(_results(), "gaussian_noise")
    assert level == 0.6 and gain.n == 4
    assert gain.mean == pytest.approx(10.0) and gain.sd == pytest.approx(np.std([-1.5, -0.5, 0.5, 1.5], ddof=1))


def test_run_claims_verdicts_follow_their_rules():
    claims = {c.claim: c for c in run_claims(_results())}
    gain = claims["largest SRC gain under Gaussian noise (at 0.6, picked by the mean)"]
    assert gain.verdict == "yes" and gain.rule == "gain"  # interval's lower end ≥ 7.5 = half of ~15
    clean = claims["clean accuracy change after SRC (points)"]
    assert clean.measured.mean == pytest.approx(-1.5) and clean.verdict == "yes"  # contains the paper's -1.5
    assert claims["clean accuracy of SRC+FFF − baseline (points)"].verdict == "yes"
    kept = claims["SRC+FFF gain under Gaussian noise at the same level"]
    assert kept.measured.mean == pytest.approx(8.0) and kept.verdict == "yes"  # no spread: the interval is [8, 8]
    grad = claims["largest gradient-expansion gain under Gaussian noise (at 0.6)"]
    assert grad.measured.mean == pytest.approx(0.5) and grad.verdict == "yes"
    assert claims["SRC − gradient expansion, mean over the Gaussian noise sweep"].verdict == "yes"
    one = {c.claim: c for c in run_claims(_results(1))}
    assert one["clean accuracy change after SRC (points)"].verdict == "– (n = 1)"
    assert run_claims(_results(), "fashion_mnist") == []
    blur = _results().rename(
        {"accuracy_gaussian_noise": "accuracy_gaussian_blur", "gaussian_noise_level": "gaussian_blur_level"}
    )
    cifar = {c.claim: c for c in run_claims(blur, "cifar10")}
    assert cifar["SRC not above baseline under Gaussian blur (largest gain, at 0.6)"].verdict == "no"  # +10 points


def test_value_verdict():
    assert value_verdict(summarise([-1.0, -2.0, -1.5]), -1.5) == "yes"
    assert value_verdict(summarise([-6.0, -7.0, -6.5]), -1.5) == "partly"  # the paper's sign, far from its value
    assert value_verdict(summarise([1.0, 2.0, 1.5]), -1.5) == "no"


def test_markdown_table_gives_intervals_per_level_and_paired_differences():
    text = markdown_table(_results(), "mnist")
    assert "| model \\ Gaussian noise variance | 0 | 0.3 | 0.6 |" in text
    src = summarise(_results().accuracy_gaussian_noise.sel(network="src", gaussian_noise_level=0.6), 100)
    assert "| SRC | 93.5 ± 0.3 [93.1, 93.9] |" in text and f"| {src.text()} |" in text
    assert "| SRC − baseline | -1.5 ± 0.1 [-1.7, -1.3] |" in text  # clean, paired per trial
    assert "## Paper claims vs this run" in text and "| yes (gain) |" in text
    single = markdown_table(_results(1), "mnist")
    assert "one trial (n = 1, no interval)" in single and "| SRC | 93.5 |" in single
    assert not re.search(r"± \d", single) and "| 1 | – (n = 1) |" in single


def _analyses(trials: int = 3) -> xr.Dataset:
    models, layers = ["baseline", "src", "grad_exp"], ["0", "3"]
    variance = np.array([[[0.01, 0.001], [0.02 + 0.001 * t, 0.002], [0.03, 0.003]] for t in range(trials)])
    kl = np.zeros((trials, 3, 3, 2))
    kl[:, 0, 1] = 0.2  # KL(baseline || src)
    kl[:, 2, 1] = 0.01  # KL(grad_exp || src)
    overlap = np.array([[[0.15], [0.25 + 0.01 * t], [0.15]] for t in range(trials)])
    return xr.Dataset(
        {
            "gradient_variance": (("trial", "model", "layer"), variance),
            "kl_fitted_gaussians": (("trial", "reference", "model", "layer"), kl),
            "attention_overlap": (("trial", "model", "condition"), overlap),
        },
        coords={"trial": range(trials), "model": models, "reference": models, "layer": layers,
                "conv": ("layer", ["C1", "C2"]), "condition": ["all"]},
    )  # fmt: skip


def test_analysis_claims_table3_4_6():
    claims = analysis_claims(_analyses())
    assert [c.verdict for c in claims] == ["yes"] * 5
    assert claims[0].measured.mean == pytest.approx(0.011)
    assert "KL(baseline ‖ SRC)" in claims[1].claim and claims[1].measured.mean == pytest.approx(0.19)
    flipped = _analyses().copy(deep=True)
    flipped["attention_overlap"][:] = flipped.attention_overlap.values[:, [1, 0, 2]]  # baseline and SRC swapped
    assert analysis_claims(flipped)[-1].verdict == "no"


def test_src_claims_script_lists_folders_with_and_without_data(tmp_path):
    with_data, without = tmp_path / "src_a", tmp_path / "src_b"
    with_data.mkdir(), without.mkdir()
    _results().to_netcdf(with_data / "results.nc")
    (with_data / "analysis").mkdir()
    _analyses().to_netcdf(with_data / "analysis" / "cnn_analyses.nc")
    (without / "README.md").write_text("# b\n\nrerun:\n\n    bio-sleep src experiments/x.toml --trials 3   # 5 min\n")
    out = tmp_path / "claims.md"
    script = ROOT / "experiments" / "src_claims.py"
    subprocess.run([sys.executable, str(script), str(out), str(with_data), str(without)], check=True)
    text = out.read_text()
    assert "## src_a: mnist, 4 trial(s)" in text and "Table VI" in text and "| yes (gain) |" in text
    assert "Tables III, IV, VI cover trials 0, 1, 2 of this run's 4" in text  # the analyses hold 3 of 4 trials
    assert "- `src_b`: no data file: rerun with `bio-sleep src experiments/x.toml --trials 3   # 5 min`" in text


def test_figure3_claim_fine_tuned_model_leads_on_its_distortion():
    results = _results()
    tuned = results.sel(network=["baseline"]).assign_coords(network=["finetune_gaussian_noise"])
    tuned["accuracy_gaussian_noise"] = tuned.accuracy_gaussian_noise + 0.2  # 20 points above the baseline
    claims = {c.claim: c for c in run_claims(xr.concat([results, tuned], "network"))}
    lead = claims["fine-tuned on Gaussian noise − best other (SRC), mean over the Gaussian noise sweep"]
    # SRC is the best untuned model on the sweep mean (+3.5 points), so the lead is 20 - 3.5 points
    assert lead.measured.mean == pytest.approx(20 - (-1.5 + 2 + 10) / 3) and lead.verdict == "yes"
