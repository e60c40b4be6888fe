"""Week by week: the media effectiveness multiplier (`model.media_seasonality`) and the plan per week (`--by-week`).

Most tests run on synthetic fitted models (known parameters, no sampling; see test_optimizer): the
weekly objective against the forecast and finite differences, the weekly plan against a brute-force
grid, the flat plan when effectiveness is constant, tier shares and the total to the cent. One tiny
MCMC fit of the simulated `seasonal` business checks that the multiplier is recovered and runs the
commands end to end.
"""

from __future__ import annotations

import csv
import itertools
import json
from types import SimpleNamespace

import mlflow
import numpy as np
import pytest
import yaml
from helpers import SHORT_SAMPLER, all_runs, assert_clean_exit_2, invoke, isolated_workdir, store_uri
from test_optimizer import check_cents, config_tiers, synthetic_model, wide_bounds

from mmm.config import parse_policy
from mmm.model.estimator import MarketingMixModel
from mmm.model.features import build_features, channel_coefficients
from mmm.planning.bounds import Bounds
from mmm.planning.by_week import optimize_by_week
from mmm.planning.forecast import forecast_plan
from mmm.planning.optimizer import optimize_budget
from mmm.planning.response import ConstantPlanResponse
from mmm.planning.weekly_response import WeeklyPlanResponse
from mmm.transforms import MediaSeasonality

STRONG = [0.6, 0.8, 0.3, 0.0]  # media_season coefficients: effectiveness falls from ~2.6x to ~1.6x over the first weeks after the data


def seasonal_model(roas, season=STRONG, n_draws: int = 4, **kwargs) -> MarketingMixModel:
    """A synthetic fitted model with media seasonality: known multiplier coefficients, channel_coef derived as the estimator does."""
    m = synthetic_model(roas, n_draws=n_draws, model={"media_seasonality": True}, **kwargs)
    post = m.idata.posterior
    params = {k: post[k].values[0] for k in post.data_vars}
    params["media_season"] = np.tile(np.asarray(season, dtype=float), (n_draws, 1))
    train = m.train
    feats = build_features(m.scales, m.config.model, train.dates, train.spend_matrix(), train.control_matrix())
    roas_to_coef = train.spend_matrix().sum(axis=0) / m.scales.target
    coef = channel_coefficients(params, feats["lagged"], roas_to_coef, m.media, np, feats["media_season"])
    post["media_season"] = (("chain", "draw", "media_fourier"), params["media_season"][None])
    post["channel_coef"] = (("chain", "draw", "channel"), coef[None])
    return m


def plan_of(result) -> np.ndarray:
    """The result's spend per week (week, channel) from its `by_week` block, in model channel order."""
    return np.column_stack([result.by_week.spend[ch] for ch in result.allocation])


# --- the multiplier and the weekly objective ------------------------------------------------------------


def test_multiplier_averages_one_over_a_year_and_keeps_roas():
    season = MediaSeasonality()
    days = np.datetime64("2023-01-01") + np.arange(365 * 4)
    coef = {"media_season": np.array([[0.3, -0.2, 0.1, 0.05], [0.0, 0.0, 0.0, 0.0]])}
    m = season.multiplier(season.basis(days), coef, np)  # (draw, day)
    assert m.shape == (2, len(days))
    np.testing.assert_allclose(m.mean(axis=1), 1.0, atol=2e-3)
    np.testing.assert_array_equal(m[1], 1.0)  # coefficients at their prior mean: no seasonality
    model = seasonal_model([2.0, 1.5], jitter=0.1)
    params = model.posterior_params()
    media = model.in_sample_components(params)["media"].sum(["date", "geo"]).transpose("sample", "channel").values
    np.testing.assert_allclose(media / model.train.spend_matrix().sum(axis=0), params["roas"], rtol=1e-9)


def test_weekly_objective_agrees_with_the_forecast_and_its_gradient_is_exact():
    m = seasonal_model([2.0, 1.5], jitter=0.1)
    plan = np.random.default_rng(0).uniform(500.0, 3000.0, (5, 2))
    response = WeeklyPlanResponse(m, 5)
    _forecast, draws = forecast_plan(m, plan)
    np.testing.assert_allclose(response.plan_draws(plan), draws.plan, rtol=1e-10)
    flat = np.array([1500.0, 2500.0])
    np.testing.assert_allclose(
        response.plan_draws(np.tile(flat, (5, 1))), ConstantPlanResponse(m, 5).revenue_draws(flat).sum(axis=1), rtol=1e-12
    )
    for risk, continued in itertools.product([0.0, 1.0], [None, flat]):
        r = WeeklyPlanResponse(m, 5, continuation=continued)
        _, grad = r.value_and_gradient(plan, risk)
        h, numeric = 1e-3, np.zeros_like(plan)
        for t, c in np.ndindex(*plan.shape):
            step = np.zeros_like(plan)
            step[t, c] = h
            numeric[t, c] = (r.value_and_gradient(plan + step, risk)[0] - r.value_and_gradient(plan - step, risk)[0]) / (2 * h)
        np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-8)


# --- the weekly plan against brute force ----------------------------------------------------------------


def simplex(parts: int, steps: int) -> np.ndarray:
    """Every split of 1 into `parts` shares on a grid of 1/steps."""
    return np.array([np.array(c) / steps for c in itertools.product(range(steps + 1), repeat=parts) if sum(c) == steps])


def test_weekly_plan_matches_a_brute_force_grid():
    """2 channels x 3 weeks, one tier: the optimiser beats every plan on a grid of channel totals and weekly splits."""
    weeks, budget = 3, 9000.0
    m = seasonal_model([2.0, 1.5], jitter=0.1, l_max=2)
    shares, tiers, bounds = {"proven": 1.0}, config_tiers(m), wide_bounds(m, 20_000.0)
    flat = optimize_budget(m, budget, weeks, shares, tiers, bounds)
    result = optimize_by_week(m, flat, shares, tiers, bounds)
    assert result.by_week is not None and result.by_week.moves
    response = WeeklyPlanResponse(m, weeks, continuation=np.array([flat.allocation[c].weekly for c in m.channels]))

    paths, steps = simplex(weeks, 20), 20
    best, best_plan = -np.inf, None
    for s in np.arange(steps + 1) / steps:
        value, plan = 0.0, np.zeros((weeks, 2))
        for c, total in enumerate([s * budget, (1 - s) * budget]):
            # channels add up: each channel's best weekly split for its total, by enumeration
            candidates = []
            for p in paths:
                one = np.zeros((weeks, 2))
                one[:, c] = p * total
                candidates.append((response.plan_draws(one).mean(), p * total))
            v, column = max(candidates, key=lambda vc: vc[0])
            value += v
            plan[:, c] = column
        if value > best:
            best, best_plan = value, plan
    flat_plan = np.tile([flat.allocation[c].weekly for c in m.channels], (weeks, 1))
    assert response.plan_draws(flat_plan).mean() < best  # the grid can tell a weekly plan from the flat one
    ours = plan_of(result)
    assert ours.sum() == pytest.approx(budget, abs=0.005)
    assert response.plan_draws(ours).mean() >= best - 1e-6 * abs(best)
    assert np.abs(ours - best_plan).max() <= 0.1 * budget, (ours, best_plan)
    # the answer's channel totals are the allocation's; the weekly plan rows carry the same spend
    for j, ch in enumerate(m.channels):
        assert ours[:, j].sum() == pytest.approx(result.allocation[ch].total, abs=1e-6)
    rows = [r for r in result.weekly_plan.rows if not r.after_plan]
    assert [r.spend for r in rows] == pytest.approx(ours.ravel().tolist(), abs=1e-9)
    assert result.by_week.gain_over_flat is not None and result.by_week.gain_over_flat.mean > 0


# --- constant effectiveness: the plan stays flat and says why ---------------------------------------------


def test_plan_stays_flat_without_media_seasonality():
    m = synthetic_model([3.0, 1.5, 1.0], tiers=["proven", "proven", "test"], jitter=0.1)
    shares, tiers, bounds = {"proven": 0.8, "test": 0.2}, config_tiers(m), wide_bounds(m, 10_000.0)
    flat = optimize_budget(m, 60_000.0, 6, shares, tiers, bounds)
    weekly = optimize_by_week(m, flat, shares, tiers, bounds)
    assert weekly.to_json()["allocation"] == flat.to_json()["allocation"]
    assert weekly.forecast == flat.forecast
    timing = weekly.by_week
    assert timing is not None and not timing.moves and timing.effectiveness is None and timing.gain_over_flat is None
    assert "media_seasonality is off" in timing.reason and "the same every week" in timing.reason
    for ch, spend in timing.spend.items():
        assert max(spend) - min(spend) <= 0.01 + 1e-9 and sum(spend) == pytest.approx(flat.allocation[ch].total, abs=1e-6)
    assert "by_week" not in flat.to_json()


def test_plan_stays_flat_with_a_flat_multiplier():
    m = seasonal_model([2.0, 1.5], season=[0.0, 0.0, 0.0, 0.0])
    shares, tiers, bounds = {"proven": 1.0}, config_tiers(m), wide_bounds(m, 10_000.0)
    flat = optimize_budget(m, 30_000.0, 4, shares, tiers, bounds)
    weekly = optimize_by_week(m, flat, shares, tiers, bounds)
    timing = weekly.by_week
    assert timing is not None and not timing.moves and timing.effectiveness is not None
    assert [e.mean for e in timing.effectiveness] == pytest.approx([1.0] * 4)
    assert "about equally effective" in timing.reason
    assert weekly.to_json()["allocation"] == flat.to_json()["allocation"]


# --- the 70/20/10 rule, the total and the bounds, to the cent -------------------------------------------


def test_tier_shares_total_and_bounds_hold_over_the_horizon():
    weeks, budget = 6, 57_777.77
    m = seasonal_model([3.0, 1.5, 1.0, 2.0], tiers=["proven", "proven", "test", "experimental"], jitter=0.1)
    shares = parse_policy("70/20/10")
    lo, hi = np.array([0.0, 1500.0, 0.0, 0.0]), np.full(4, 9000.0)
    bounds = Bounds(lo, hi, ["test bound"] * 4)
    result = optimize_by_week(m, optimize_budget(m, budget, weeks, shares, config_tiers(m), bounds), shares, config_tiers(m), bounds)
    assert result.by_week is not None and result.by_week.moves
    check_cents(result, budget, shares)
    plan = plan_of(result)
    assert np.all(plan >= 0) and np.all(plan <= hi + 0.01)
    assert np.all(plan.sum(axis=0) >= lo * weeks - 0.01)
    assert np.all(np.abs(np.round(plan, 2) - plan) < 1e-9)
    assert round(sum(r.spend for r in result.weekly_plan.rows), 2) == budget
    assert result.weekly_plan.budget == budget
    tiers = config_tiers(m)
    for tier, total in result.tier_totals.items():
        assert sum(plan[:, j].sum() for j, ch in enumerate(m.channels) if tiers[ch] == tier) == pytest.approx(total, abs=1e-6)
    raw = result.to_json()
    assert set(raw["by_week"]) >= {"moves", "reason", "dates", "spend", "effectiveness", "gain_over_flat"}
    assert len(raw["by_week"]["dates"]) == weeks and raw["allocation"]["ch0"]["total"] == pytest.approx(plan[:, 0].sum())


# --- one tiny fit of a business whose media works better in some seasons, and the commands end to end ----


@pytest.fixture(scope="module")
def seasonal_cli(tmp_path_factory):
    for root in isolated_workdir(tmp_path_factory, "weekly_cli"):
        uri = store_uri(root / "store")
        assert invoke("simulate", "--scenario", "seasonal", "--out", root / "sim").exit_code == 0
        fitted = invoke("fit", root / "sim" / "config.yaml", *SHORT_SAMPLER, "--tracking-uri", uri, "--output-json", root / "fit.json")
        assert fitted.exit_code == 0, fitted.output
        fit = json.loads((root / "fit.json").read_text())
        common = ["optimize", "--run-id", fit["run_id"], "--tracking-uri", uri, "--budget", "300000", "--force"]
        files = [root / "plan.json", root / "plan.csv"]
        planned = invoke(*common, "--weeks", "13", "--by-week", "--output-json", files[0], "--output-csv", files[1])
        assert planned.exit_code == 0, planned.output
        truth = json.loads((root / "sim" / "truth.json").read_text())
        yield SimpleNamespace(
            root=root, uri=uri, common=common, fit=fit, truth=truth, fit_output=fitted.output, output=planned.output, files=files
        )


def test_fit_recovers_how_media_effectiveness_varies_through_the_year(seasonal_cli):
    months = seasonal_cli.fit["media_seasonality"]["months"]
    true = seasonal_cli.truth["media_seasonality"]["by_month"]
    got = np.array([m["multiplier"]["mean"] for m in months])
    want = np.array([true[m["name"]] for m in months])
    assert np.abs(got - want).max() < 0.15, dict(zip(true, got))
    assert np.corrcoef(got, want)[0, 1] > 0.9
    best = max(months, key=lambda m: m["multiplier"]["mean"])
    assert best["name"] in ("October", "November", "December") and best["multiplier"]["low"] > 1
    assert f"Media earns {round(100 * (best['multiplier']['mean'] - 1))}% more in {best['name']} than on average" in seasonal_cli.fit_output
    run = mlflow.MlflowClient(tracking_uri=seasonal_cli.uri).get_run(seasonal_cli.fit["run_id"])
    assert run.data.metrics[f"media_multiplier_mean.{best['name']}"] == pytest.approx(best["multiplier"]["mean"])


def test_optimize_by_week_end_to_end(seasonal_cli):
    raw = json.loads(seasonal_cli.files[0].read_text())
    timing = raw["by_week"]
    assert timing["moves"] and "moves spend into the stronger weeks" in timing["reason"]
    assert "Plan by week:" in seasonal_cli.output
    spend = np.array([timing["spend"][ch] for ch in raw["allocation"]])  # (channel, week)
    effect = np.array([e["mean"] for e in timing["effectiveness"]])
    assert np.corrcoef(spend.sum(axis=0)[1:-1], effect[1:-1])[0, 1] > 0.5  # more spend where media earns more
    for j, (_ch, a) in enumerate(raw["allocation"].items()):
        assert spend[j].sum() == pytest.approx(a["total"], abs=1e-6)
    assert sum(raw["tier_totals"].values()) == pytest.approx(300_000, abs=0.005)
    with seasonal_cli.files[1].open() as f:
        rows = list(csv.DictReader(f))
    assert round(sum(float(r["spend"]) for r in rows if r["phase"] == "plan"), 2) == 300_000.0
    # the flat plan is still the default, with its JSON unchanged in shape
    flat = invoke(*seasonal_cli.common, "--weeks", "13", "--output-json", seasonal_cli.root / "flat.json")
    assert flat.exit_code == 0, flat.output
    flat_raw = json.loads((seasonal_cli.root / "flat.json").read_text())
    assert "by_week" not in flat_raw and set(flat_raw["allocation"]) == set(raw["allocation"])


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--weeks", "1", "--by-week"], "--by-week spreads the budget over the weeks of the horizon, which needs at least 2 weeks"),
        (["--weeks", "13", "--by-week", "--budget", "auto", "--margin", "0.5"], "--by-week plans a fixed budget"),
    ],
)
def test_by_week_bad_input_exits_2(seasonal_cli, args, needle):
    before = len(all_runs(seasonal_cli.uri))
    text = assert_clean_exit_2(invoke(*seasonal_cli.common, *args))
    assert needle in text
    assert len(all_runs(seasonal_cli.uri)) == before, "a failed command recorded a run"


@pytest.mark.parametrize("block, key", [("model", "media_seasonality"), ("optimizer", "by_week")])
def test_invalid_config_keys_exit_2(tmp_path, block, key):
    config = {"data": {"path": "data.csv"}, "channels": [{"name": "search", "spend_column": "search_spend"}], block: {key: "sometimes"}}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    text = assert_clean_exit_2(invoke("validate", path))
    assert key in text
