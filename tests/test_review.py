"""The health review: each check on inputs built to fail it, and on a real fit built to fail; the
planning gate (`optimize` and `scenario` refuse a FAIL model, `--force` overrides and is recorded);
`mmm review`; the review in the fit's JSON, MLflow and report."""

from __future__ import annotations

import json

import mlflow
import numpy as np
import pytest
import xarray as xr
import yaml
from helpers import SHORT_SAMPLER, all_runs, assert_clean_exit_2, invoke, isolated_workdir, printed, store_uri

from mmm.analysis import review_checks as checks
from mmm.analysis.review import _residual_trend
from mmm.core.constants import CHANNEL, CONTROL, DATE, SAMPLE
from mmm.core.review import Check, Review

RNG = np.random.default_rng(0)
CHANNELS = ["search", "social"]


def roas_draws(*columns: np.ndarray) -> xr.DataArray:
    return xr.DataArray(np.column_stack(columns), dims=(SAMPLE, CHANNEL), coords={CHANNEL: CHANNELS[: len(columns)]})


def per_channel(*values: float) -> xr.DataArray:
    return xr.DataArray(list(values), dims=CHANNEL, coords={CHANNEL: CHANNELS[: len(values)]})


# --- each check, on inputs built to pass and to fail it ---------------------------------------


def test_convergence_pass_review_fail():
    assert checks.convergence(1.004, 900, 0, 4000).status == "PASS"
    assert checks.convergence(1.05, 900, 0, 4000).status == "REVIEW"
    assert checks.convergence(1.004, 150, 0, 4000).status == "REVIEW"
    assert checks.convergence(1.004, 900, 3, 4000).status == "REVIEW"
    failed = checks.convergence(1.6, 20, 0, 4000)
    assert failed.status == "FAIL" and failed.value == 1.6 and "sampler.tune" in failed.message
    assert checks.convergence(1.004, 900, 800, 4000).status == "FAIL"  # 20% of transitions diverged


def test_baseline_negative_is_flagged():
    def draws(mean: float) -> xr.DataArray:
        return xr.DataArray(mean + RNG.normal(0, 1.0, (400, 52)), dims=(SAMPLE, DATE))

    assert checks.baseline(draws(5.0)).status == "PASS"
    failed = checks.baseline(draws(-5.0))
    assert failed.status == "FAIL" and failed.value == 1.0 and "controls" in failed.message
    # positive in total, but the mean is negative in some weeks
    dips = draws(5.0) - xr.DataArray(np.r_[np.zeros(48), np.full(4, 20.0)], dims=DATE)
    assert checks.baseline(dips).status == "REVIEW"


def test_posterior_predictive_p_value():
    actual = RNG.normal(100, 5, 52)
    replicated = RNG.normal(100, 5, (500, 52))
    assert checks.posterior_predictive(actual, replicated).status == "PASS"
    failed = checks.posterior_predictive(actual + 30, replicated)
    assert failed.status == "FAIL" and failed.value < checks.PPP_FAIL


def test_goodness_of_fit_and_holdout():
    assert checks.goodness_of_fit(0.9, 0.05).status == "PASS"
    assert checks.goodness_of_fit(0.3, 0.2).status == "REVIEW"
    assert checks.goodness_of_fit(-0.2, 0.4).status == "FAIL"
    assert checks.goodness_of_fit(None, None).status == "REVIEW"
    assert checks.holdout(0.9, 0.06, 0.05, 13).status == "PASS"
    assert checks.holdout(0.2, 0.06, 0.05, 13).status == "REVIEW"  # the band missed most held-out weeks
    assert checks.holdout(0.9, 0.40, 0.05, 13).status == "REVIEW"  # far worse than in sample


def test_a_counted_outcome_is_judged_against_the_chance_in_counting():
    """A few conversions a week scatter by chance (Poisson): the true expected counts explain only what chance leaves,
    and the review asks no more of a model than that."""
    from mmm.core.stats import accuracy

    means = 5 + 4 * np.sin(np.arange(5000) / 8)
    counts = RNG.poisson(means).astype(float)
    truth = accuracy(counts, means, counts=True)
    assert 0.2 < truth["r2"] < 0.8 and truth["r2"] == pytest.approx(truth["r2_attainable"], abs=0.03)
    assert "r2_attainable" not in accuracy(counts, means)  # money: no counting chance
    near = checks.goodness_of_fit(0.3, 0.13, attainable=0.375, per_period=46, noun="conversions")
    assert near.status == "PASS" and "about 46 conversions a week" in near.message and "chance makes up 62%" in near.message
    assert "80% of what any model can" in near.message
    far = checks.goodness_of_fit(0.1, 0.2, attainable=0.375, per_period=3.84, noun="conversions")
    assert far.status == "REVIEW" and "about 3.8 conversions" in far.message and "move conversions" in far.message
    assert checks.goodness_of_fit(0.3, 0.2).status == "REVIEW"  # revenue: R² against all of the variation, as before
    assert checks.goodness_of_fit(-0.1, 0.9, attainable=0.05).status == "FAIL"  # worse than the average week is never chance
    counted = checks.geo_fit({"north": 0.2, "south": 0.9}, attainable_by_geo={"north": 0.3, "south": 0.95})
    assert counted.status == "PASS" and "as far as chance in counting allows" in counted.message
    weak = checks.geo_fit({"north": 0.2, "south": 0.9}, attainable_by_geo={"north": 0.9, "south": 0.95})
    assert weak.status == "REVIEW" and "north (20% of at most 90%)" in weak.message and "south" not in weak.message


def test_the_review_speaks_the_datas_period():
    """Daily data are reviewed in days: no 'week-to-week' for a model of days."""
    daily = [
        checks.goodness_of_fit(0.9, 0.05, "day"),
        checks.goodness_of_fit(-0.2, 0.4, "day"),
        checks.geo_fit({"north": 0.2, "south": 0.9}, "day"),
        checks.holdout(0.2, 0.06, 0.05, 30, "day"),
    ]
    text = " ".join(c.message for c in daily)
    assert "week" not in text
    assert "day-to-day variation" in daily[0].message and "error per day" in daily[0].message
    assert "average day" in daily[1].message and "in those days" in daily[3].message


def test_a_channel_still_at_its_prior_is_named():
    mu, sigma = per_channel(0.0, 0.0), per_channel(0.8, 0.8)
    learned = np.exp(RNG.normal(0.6, 0.1, 4000))
    prior_only = np.exp(RNG.normal(0.0, 0.8, 4000))
    found = checks.prior_posterior_shift(roas_draws(learned, prior_only), mu, sigma)
    assert found.status == "REVIEW"
    assert "social" in found.message and "search" not in found.message and "lift test" in found.message
    assert checks.prior_posterior_shift(roas_draws(learned, learned), mu, sigma).status == "PASS"


def test_roas_inconsistent_with_its_prior():
    mu, sigma = per_channel(0.0, 0.0), per_channel(0.3, 0.3)
    fine = np.exp(RNG.normal(0.1, 0.1, 2000))
    far = np.exp(RNG.normal(3.0, 0.1, 2000))
    found = checks.roas_consistency(roas_draws(fine, far), mu, sigma)
    assert found.status == "REVIEW" and "social" in found.message and "search" not in found.message
    assert checks.roas_consistency(roas_draws(fine, fine), mu, sigma).status == "PASS"


def test_implausible_and_high_variance_roas():
    spend = per_channel(1000.0, 1000.0)
    plausible = np.exp(RNG.normal(0.5, 0.1, 2000))
    assert checks.implausible_roas(roas_draws(plausible, plausible), spend).status == "PASS"
    assert checks.implausible_roas(roas_draws(plausible * 40, plausible * 40), spend).status == "REVIEW"
    assert checks.implausible_roas(roas_draws(plausible / 20, plausible / 20), spend).status == "REVIEW"
    # spend in cents (or a target in thousands): the figure still reads, not as 0.00
    cents = checks.implausible_roas(roas_draws(plausible / 1000, plausible / 1000), spend)
    assert (
        cents.status == "REVIEW" and f"return {cents.value:.2g} per unit spent" in cents.message and "return 0.00 per" not in cents.message
    )
    valued = checks.implausible_roas(roas_draws(plausible / 20, plausible / 20), spend, "conversions")
    assert "data.value_per_conversion" in valued.message and "same currency and units as the target" not in valued.message
    sigma = per_channel(0.3, 0.3)
    assert checks.high_variance(roas_draws(plausible, plausible), sigma, spend).status == "PASS"
    wide = np.exp(RNG.normal(0.5, 1.5, 2000))
    found = checks.high_variance(roas_draws(wide, plausible), per_channel(0.3, 0.3), per_channel(5000.0, 100.0))
    assert found.status == "REVIEW" and "search" in found.message


def test_media_moving_with_a_control():
    spend = xr.DataArray(RNG.lognormal(0, 0.5, (104, 2)), dims=(DATE, CHANNEL), coords={CHANNEL: CHANNELS})
    independent = xr.DataArray(RNG.normal(0, 1, (104, 1)), dims=(DATE, CONTROL), coords={CONTROL: ["price"]})
    assert checks.media_control_correlation(spend, independent).status == "PASS"
    promo = spend.sel({CHANNEL: "social"}).values * 3 + RNG.normal(0, 0.05, 104)
    tied = xr.DataArray(promo[:, None], dims=(DATE, CONTROL), coords={CONTROL: ["promo"]})
    found = checks.media_control_correlation(spend, tied)
    assert found.status == "REVIEW" and "social and promo" in found.message
    empty = xr.DataArray(np.zeros((104, 0)), dims=(DATE, CONTROL), coords={CONTROL: []})
    assert checks.media_control_correlation(spend, empty).status == "PASS"


def test_residual_trend_suggests_a_flexible_trend():
    t = np.arange(104)
    assert _residual_trend(RNG.normal(0, 1, 104), 52.18, "linear").status == "PASS"
    bent = RNG.normal(0, 1, 104) + 4 * np.minimum(t, 52) / 52 - 2 * t / 104
    found = _residual_trend(bent, 52.18, "linear")
    assert found.status == "REVIEW" and "trend: flexible" in found.message


def test_review_verdict_and_score():
    def check(name: str, status: str) -> Check:
        return Check(name=name, status=status, value=None, threshold=None, message="")  # type: ignore[arg-type]

    assert Review.of([check("a", "PASS"), check("b", "PASS")]).model_dump()["status"] == "PASS"
    mixed = Review.of([check("a", "PASS"), check("b", "REVIEW"), check("c", "FAIL"), check("d", "PASS")])
    assert mixed.status == "FAIL" and mixed.score == 62  # (1 + 0.5 + 0 + 1) / 4
    assert [c.name for c in mixed.with_status("FAIL")] == ["c"]


# --- a real fit built to fail: ROAS priors so high that media claim more than all revenue ------


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    yield from isolated_workdir(tmp_path_factory, "review")


@pytest.fixture(scope="module")
def failing(workdir):
    """A fit of the clean scenario whose ROAS priors (mean 60, sd 2) force a negative baseline; (run id, fit JSON, uri)."""
    uri = store_uri(workdir / "store")
    assert invoke("simulate", "--scenario", "clean", "--out", workdir / "sim").exit_code == 0
    cfg = yaml.safe_load((workdir / "sim" / "config.yaml").read_text())
    for ch in cfg["channels"]:
        ch["roas_prior"] = {"mean": 60.0, "sd": 2.0}
    (workdir / "sim" / "inflated.yaml").write_text(yaml.safe_dump(cfg))
    out = workdir / "fit.json"
    result = invoke("fit", workdir / "sim" / "inflated.yaml", *SHORT_SAMPLER, "--tracking-uri", uri, "--output-json", out)
    assert result.exit_code == 0, printed(result)
    fit = json.loads(out.read_text())
    return fit["run_id"], fit, uri, printed(result)


def test_the_fit_reports_its_review_everywhere(failing, workdir):
    run_id, fit, uri, text = failing
    review = fit["review"]
    assert review["status"] == "FAIL" and 0 <= review["score"] < 100
    by_name = {c["name"]: c for c in review["checks"]}
    assert by_name["baseline"]["status"] == "FAIL"
    assert set(by_name) >= {"convergence", "baseline", "posterior_predictive", "goodness_of_fit", "prior_posterior_shift"}
    assert all(set(c) >= {"name", "status", "value", "threshold", "message"} for c in review["checks"])
    assert "Health review of the model: FAIL" in text and "NOT fit to advise" in text
    run = mlflow.MlflowClient(tracking_uri=uri).get_run(run_id)
    assert run.data.tags["review.status"] == "FAIL" and run.data.tags["review.baseline"] == "FAIL"
    assert run.data.metrics["review_score"] == review["score"]
    shown = invoke("review", "--run-id", run_id, "--tracking-uri", uri, "--output-json", workdir / "review.json")
    assert shown.exit_code == 0 and "baseline" in printed(shown)
    written = json.loads((workdir / "review.json").read_text())
    assert written["run_id"] == run_id and written["status"] == "FAIL" and written["checks"] == review["checks"]


def test_planning_refuses_a_failed_model_unless_forced(failing, workdir):
    run_id, _, uri, _ = failing
    text = assert_clean_exit_2(invoke("optimize", "--run-id", run_id, "--budget", 100000, "--weeks", 4, "--tracking-uri", uri))
    assert "failed its health review" in text and "baseline" in text and "--force" in text
    plan = workdir / "plan.csv"
    plan.write_text("week,search,social,display\n" + "".join(f"{w},1000,800,500\n" for w in range(1, 5)))
    text = assert_clean_exit_2(invoke("scenario", "--run-id", run_id, "--plan", plan, "--tracking-uri", uri))
    assert "failed its health review" in text
    refused_runs = len(all_runs(uri))
    forced = invoke(
        "optimize",
        "--run-id",
        run_id,
        "--budget",
        100000,
        "--weeks",
        4,
        "--force",
        "--tracking-uri",
        uri,
        "--output-json",
        workdir / "o.json",
    )
    assert forced.exit_code == 0, printed(forced)
    assert "--force recorded" in printed(forced)
    result = json.loads((workdir / "o.json").read_text())
    verdict = result["review"]
    assert verdict["status"] == "FAIL" and verdict["forced"] is True and "baseline" in verdict["failed_checks"]
    child = mlflow.MlflowClient(tracking_uri=uri).get_run(result["tracking_run_id"])
    assert child.data.params["review_forced"] == "True" and child.data.params["model_review"] == "FAIL"
    assert len(all_runs(uri)) == refused_runs + 1  # the refusals recorded nothing
