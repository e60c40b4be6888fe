"""The budget optimiser: exact tier totals, bounds, optimality, risk, tiers and errors.

Every test runs on a *synthetic fitted model*: a MarketingMixModel whose posterior is a
handful of draws of known parameters, set directly (no sampling), so the whole module runs
in seconds and the right answer can be computed independently (grid search, KKT conditions).
"""

from __future__ import annotations

import warnings

import arviz as az
import numpy as np
import pandas as pd
import pytest
import xarray as xr
import yaml

from mmm.analysis.results import Accuracy, CarryOver, ChannelResult, DataPeriod, FitSummary, PeriodsToShare
from mmm.config import parse_config, parse_policy
from mmm.core.constants import ANALYSIS_DRAWS, DEFAULT_MAX_FACTOR
from mmm.core.errors import ArgumentError, MMMError
from mmm.core.stats import Interval
from mmm.data.dataset import ModelData
from mmm.model.estimator import MarketingMixModel
from mmm.model.features import Scaling, build_features, channel_coefficients
from mmm.model.sampling import Diagnostics
from mmm.model.selection import pointwise_log_likelihood
from mmm.planning.bounds import Bounds, channel_bounds, project
from mmm.planning.forecast import current_plan, forecast_plan
from mmm.planning.optimizer import optimize_budget
from mmm.planning.policy import auto_tiers, tier_shares
from mmm.planning.recommend import recommend_budget
from mmm.planning.response import ConstantPlanResponse
from mmm.planning.results import OptimizationResult, PlanForecast

WEEKS = 13


# --- a fitted model with known parameters, without sampling --------------------------------------


def synthetic_model(
    roas,
    *,
    tiers=None,
    alpha=0.3,
    half=1.0,
    levels=None,
    spend=None,
    n_periods: int = 60,
    n_draws: int = 8,
    jitter=0.0,
    seed: int = 0,
    l_max: int = 4,
    model: dict | None = None,
    extra_params: dict | None = None,
    channel_keys: dict | None = None,
) -> MarketingMixModel:
    """A 'fitted' model: weekly data, Scaling, and a posterior of n_draws draws of known values.

    roas/alpha/half: per channel (or one value for all); jitter: log-sd of draw-to-draw spread of
    ROAS (per channel or one value), so the posterior carries uncertainty; levels: mean weekly
    spend per channel (default 1000, 2000, ...); spend: the whole (period, channel) table instead.
    channel_coef is derived from ROAS exactly as the estimator does after sampling.
    """
    rng = np.random.default_rng(seed)
    roas = np.asarray(roas, dtype=float)
    c = len(roas)
    names = [f"ch{i}" for i in range(c)]
    tiers = tiers or ["proven"] * c
    if spend is None:
        levels = np.asarray(levels if levels is not None else 1000.0 * (1 + np.arange(c)), dtype=float)
        spend = np.round(levels * rng.uniform(0.5, 1.5, (n_periods, c)), 2)
    spend = np.asarray(spend, dtype=float)
    n_periods = spend.shape[0]
    spec = {
        "data": {"path": "data.csv"},
        "channels": [
            {"name": n, "spend_column": f"{n}_spend", "tier": t, **((channel_keys or {}).get(n, {}))} for n, t in zip(names, tiers)
        ],
        "controls": ["price"],
        "model": {"l_max": l_max, "saturation": "hill", **(model or {})},
        "sampler": {"draws": 10, "tune": 10, "chains": 1},
    }
    cfg = parse_config(yaml.safe_dump(spec, sort_keys=False))
    dates = pd.date_range("2023-01-02", periods=n_periods, freq="7D")
    controls = rng.normal(100.0, 1.0, (n_periods, 1))
    target = 50_000.0 + rng.normal(0.0, 500.0, n_periods)
    data = ModelData.from_arrays(dates, "weekly", target, spend, names, controls, ["price"])
    m = MarketingMixModel(cfg)
    m.data, m.n_train = data, n_periods
    m.scaling = Scaling.from_data(data)

    def per_channel(value) -> np.ndarray:
        return np.broadcast_to(np.asarray(value, dtype=float), (c,)).copy()

    z = rng.standard_normal((n_draws, c))
    params = {
        "roas": roas * np.exp(per_channel(jitter) * z),
        "intercept": np.full(n_draws, 0.9),
        "trend": np.zeros(n_draws),
        "season": np.zeros((n_draws, 2 * cfg.model.seasonality_order)),
        "control_coef": np.zeros((n_draws, 1)),
        "sigma": np.full(n_draws, 0.01),
    }
    if cfg.model.adstock == "geometric":
        params["adstock_alpha"] = np.tile(per_channel(alpha), (n_draws, 1))
    if cfg.model.saturation == "hill":
        params["half_saturation"] = np.tile(per_channel(half), (n_draws, 1))
    for k, v in (extra_params or {}).items():
        params[k] = np.tile(per_channel(v), (n_draws, 1))
    feats = build_features(m.scaling, cfg.model, dates, spend, controls)
    params["channel_coef"] = channel_coefficients(params, feats["lagged"], spend.sum(axis=0) / m.scaling.target, m.media, np)
    dims = {k: ["channel"] for k, v in params.items() if v.ndim == 2 and v.shape[1] == c}
    dims.update({"season": ["fourier"], "control_coef": ["control"]})
    m.idata = az.from_dict(
        posterior={k: v[None] for k, v in params.items()},
        dims=dims,
        coords={"channel": names, "fourier": np.arange(2 * cfg.model.seasonality_order), "control": ["price"]},
    )
    return m


def wide_bounds(model: MarketingMixModel, high: float) -> Bounds:
    c = len(model.channels)
    return Bounds(np.zeros(c), np.full(c, float(high)), ["test bound"] * c)


def config_tiers(model: MarketingMixModel) -> dict[str, str]:
    return {ch.name: ch.tier for ch in model.config.channels}


def weekly_of(result: OptimizationResult, model: MarketingMixModel) -> np.ndarray:
    return np.array([result.allocation[ch].weekly for ch in model.channels])


def plan_value(response: ConstantPlanResponse, weekly) -> float:
    """Objective of the risk-neutral optimiser: mean over draws of total incremental revenue."""
    return float(response.revenue_draws(np.asarray(weekly, dtype=float)).sum(axis=1).mean())


@pytest.fixture(scope="module")
def four_channels() -> MarketingMixModel:
    """Two proven channels, one test, one experimental, with different ROAS and curves."""
    return synthetic_model(
        [3.0, 1.5, 1.0, 2.0],
        tiers=["proven", "proven", "test", "experimental"],
        alpha=[0.3, 0.5, 0.2, 0.4],
        half=[1.0, 0.8, 1.2, 1.0],
        jitter=0.1,
    )


def test_synthetic_model_reproduces_its_roas(four_channels):
    """The fixture is a faithful fitted model: contribution over the data / spend = the ROAS drawn."""
    m = four_channels
    params = m.posterior_params()
    media = m.in_sample_components(params)["media"].sum(["date", "geo"])  # (sample, channel)
    roas = media / m.data.spend.sum(["date", "geo"])
    np.testing.assert_allclose(roas.transpose("sample", "channel").values, params["roas"], rtol=1e-9)


def test_constant_plan_response_agrees_with_forecast_plan(four_channels):
    m = four_channels
    weekly = np.array([1500.0, 2500.0, 1000.0, 800.0])
    response = ConstantPlanResponse(m, WEEKS, n_draws=None)
    outcome, draws = forecast_plan(m, np.tile(weekly, (WEEKS, 1)))
    assert isinstance(outcome, PlanForecast)
    assert outcome.incremental.mean == pytest.approx(plan_value(response, weekly), rel=1e-9)
    assert outcome.to_json()["incremental_revenue"]["mean"] == outcome.incremental.mean
    np.testing.assert_allclose(draws.plan, response.revenue_draws(weekly).sum(axis=1), rtol=1e-9)
    for i, ch in enumerate(m.channels):
        assert outcome.incremental_by_channel[ch].mean == pytest.approx(response.revenue_draws(weekly)[:, i].mean(), rel=1e-9)
    # a plan given by channel name, in any order, is the same plan
    named = xr.DataArray(weekly, dims="channel", coords={"channel": m.channels}).isel(channel=[3, 1, 0, 2])
    np.testing.assert_array_equal(response.revenue_draws(named), response.revenue_draws(weekly))
    np.testing.assert_array_equal(response.gradient_draws(named), response.gradient_draws(weekly))
    plan = xr.DataArray(np.tile(weekly, (WEEKS, 1)), dims=("date", "channel"), coords={"channel": m.channels})
    by_name, _ = forecast_plan(m, plan.isel(channel=[2, 3, 0, 1]))
    assert by_name.incremental.mean == pytest.approx(outcome.incremental.mean, rel=1e-12)
    assert by_name.spend_by_channel == pytest.approx(outcome.spend_by_channel)


# --- tier shares and the total, exact to the cent ------------------------------------------------


def check_cents(result: OptimizationResult, budget: float, shares: dict[str, float]) -> None:
    totals = {ch: a.total for ch, a in result.allocation.items()}
    for ch, t in totals.items():
        assert round(t, 2) == pytest.approx(t, abs=1e-9), f"{ch} total {t!r} is not whole cents"
    assert abs(sum(totals.values()) - budget) < 0.005, f"channel totals sum to {sum(totals.values()):.4f}, budget {budget}"
    for tier, share in shares.items():
        tier_sum = sum(t for ch, t in totals.items() if result.allocation[ch].tier == tier)
        assert abs(tier_sum - share * budget) <= 0.01 + 1e-9, f"tier {tier}: {tier_sum:.4f} vs {share * budget:.4f}"
        assert result.tier_totals[tier] == pytest.approx(tier_sum, abs=1e-6)
        assert result.tiers[tier] == pytest.approx(share, abs=1e-6)
    assert abs(sum(result.tier_totals.values()) - budget) < 0.005
    # the JSON carries the same allocation
    raw = result.to_json()
    assert {ch: a["total"] for ch, a in raw["allocation"].items()} == totals
    assert raw["tier_totals"] == result.tier_totals


@pytest.mark.parametrize(
    "budget, policy",
    [(100_000.03, "60/30/10"), (130_000.0, "70/20/10"), (99_999.99, "70/20/10"), (100_000.15, "60/30/10"), (7_777.77, "50/30/20")],
)
def test_tier_totals_and_total_exact_to_the_cent(four_channels, budget, policy):
    m = four_channels
    shares, notes = tier_shares(parse_policy(policy), config_tiers(m))
    assert notes == []
    result = optimize_budget(m, budget, WEEKS, shares, config_tiers(m), wide_bounds(m, budget))
    assert result.budget == round(budget, 2)
    check_cents(result, budget, shares)
    for a in result.allocation.values():
        assert a.weekly == pytest.approx(a.total / WEEKS, rel=1e-12)


@pytest.mark.parametrize("budget, policy", [(1_234_567.89, "33/33/34"), (670_404.66, "60/30/10"), (171_475.18, "70/20/10")])
def test_total_equals_budget_to_the_cent_for_any_budget(four_channels, budget, policy):
    m = four_channels
    shares, _ = tier_shares(parse_policy(policy), config_tiers(m))
    result = optimize_budget(m, budget, WEEKS, shares, config_tiers(m), wide_bounds(m, budget))
    check_cents(result, budget, shares)


# --- bounds ----------------------------------------------------------------------------------------


def test_default_max_is_one_and_a_half_times_the_highest_weekly_spend(four_channels):
    m = four_channels
    b = channel_bounds(m)
    assert DEFAULT_MAX_FACTOR == 1.5
    np.testing.assert_allclose(b.high, 1.5 * m.data.spend_matrix().max(axis=0))
    np.testing.assert_allclose(b.high[m.channels.index("ch2")], 1.5 * float(m.data.spend.sel(channel="ch2").max()))
    np.testing.assert_array_equal(b.low, np.zeros(4))
    assert all("1.5x the highest weekly spend" in s for s in b.source)


def test_bounds_come_from_overrides_then_config_then_default():
    m = synthetic_model(
        [2.0, 2.0, 2.0], channel_keys={"ch0": {"min_weekly_spend": 100.0, "max_weekly_spend": 900.0}, "ch1": {"max_weekly_spend": 5000.0}}
    )
    b = channel_bounds(m, {"ch1": (50.0, 1234.0)})
    assert b.low.tolist() == [100.0, 50.0, 0.0]
    assert b.high.tolist() == [900.0, 1234.0, pytest.approx(1.5 * float(m.data.spend.sel(channel="ch2").max()))]
    assert b.source[:2] == ["your bound", "your bound"] and "highest weekly spend" in b.source[2]


def test_every_weekly_spend_within_its_bounds_and_binding_bounds_warn(four_channels):
    m = four_channels
    budget = 60_000.0
    # ch0 (best ROAS) capped low, ch1 (weak) forced up: both bind
    overrides = {"ch0": (None, 400.0), "ch1": (2500.0, None), "ch2": (100.0, 1500.0)}
    shares, _ = tier_shares(parse_policy("70/20/10"), config_tiers(m))
    b = channel_bounds(m, overrides)
    result = optimize_budget(m, budget, WEEKS, shares, config_tiers(m), b)
    check_cents(result, budget, shares)
    cent = 0.005 / WEEKS + 1e-9  # totals are rounded to the cent
    for i, ch in enumerate(m.channels):
        a = result.allocation[ch]
        assert a.min_weekly == b.low[i] and a.max_weekly == b.high[i]
        assert b.low[i] - cent <= a.weekly <= b.high[i] + cent, f"{ch}: {a.weekly} outside [{b.low[i]}, {b.high[i]}]"
    alloc = result.allocation
    assert alloc["ch0"].bound == "max" and alloc["ch0"].weekly == pytest.approx(400.0, abs=cent)
    text = "\n".join(result.warnings)
    assert "'ch0' is held at its maximum of 400.00" in text and "your bound" in text


def test_binding_min_bound_warns():
    # ch1 is poor; a floor of 2000/week binds and is reported
    m = synthetic_model([4.0, 0.3], alpha=0.3, half=1.0)
    b = channel_bounds(m, {"ch1": (2000.0, None), "ch0": (None, 1e6)})
    result = optimize_budget(m, 52_000.0, WEEKS, {"proven": 1.0}, config_tiers(m), b)
    assert result.allocation["ch1"].bound == "min"
    assert result.allocation["ch1"].weekly == pytest.approx(2000.0, abs=0.01)
    assert any("'ch1' is held at its minimum of 2,000.00" in w for w in result.warnings)


def test_default_cap_binding_names_its_source():
    m = synthetic_model([5.0, 0.5], levels=[500.0, 3000.0])
    result = optimize_budget(m, 52_000.0, WEEKS, {"proven": 1.0}, config_tiers(m), channel_bounds(m))
    a = result.allocation["ch0"]
    assert a.bound == "max" and a.weekly == pytest.approx(1.5 * float(m.data.spend.sel(channel="ch0").max()), abs=0.01)
    assert any("'ch0' is held at its maximum" in w and "1.5x the highest weekly spend" in w for w in result.warnings)


# --- the optimum is the optimum ---------------------------------------------------------------------


def test_two_channels_match_a_brute_force_grid():
    m = synthetic_model([3.0, 2.0], alpha=[0.3, 0.6], half=[0.8, 1.3], jitter=0.15, n_draws=12)
    weekly_budget = 4000.0
    response = ConstantPlanResponse(m, WEEKS, n_draws=None)
    grid = np.linspace(0.0, weekly_budget, 4001)
    values = np.array([plan_value(response, [s, weekly_budget - s]) for s in grid])
    best = int(np.argmax(values))
    assert 0 < best < len(grid) - 1, "the test case should have an interior optimum"
    result = optimize_budget(m, weekly_budget * WEEKS, WEEKS, {"proven": 1.0}, config_tiers(m), wide_bounds(m, weekly_budget))
    ours = plan_value(response, weekly_of(result, m))
    assert ours == pytest.approx(values[best], rel=1e-3)
    assert ours >= values[best] * (1 - 1e-7)  # at least as good as the grid
    assert result.allocation["ch0"].weekly == pytest.approx(grid[best], abs=0.005 * weekly_budget)
    assert result.forecast.incremental.mean == pytest.approx(ours, rel=1e-9)
    assert result.to_json()["expected"]["recommended"]["mean"] == pytest.approx(ours, rel=1e-9)


def test_three_channels_match_a_brute_force_grid():
    m = synthetic_model([3.0, 2.0, 1.5], alpha=[0.3, 0.6, 0.1], half=[0.8, 1.3, 1.0], jitter=0.1)
    w = 6000.0
    response = ConstantPlanResponse(m, WEEKS, n_draws=None)

    def search(a_values, b_values):
        best = (-np.inf, None)
        for a in a_values:
            for b in b_values:
                if a + b <= w:
                    v = plan_value(response, [a, b, w - a - b])
                    if v > best[0]:
                        best = (v, (a, b))
        return best

    step = w / 60
    _, (a0, b0) = search(np.arange(0, w + 1e-9, step), np.arange(0, w + 1e-9, step))
    fine = np.linspace(-step, step, 41)
    value, (a1, b1) = search(np.clip(a0 + fine, 0, w), np.clip(b0 + fine, 0, w))
    result = optimize_budget(m, w * WEEKS, WEEKS, {"proven": 1.0}, config_tiers(m), wide_bounds(m, w))
    ours = weekly_of(result, m)
    assert plan_value(response, ours) == pytest.approx(value, rel=1e-3)
    assert plan_value(response, ours) >= value * (1 - 1e-7)
    np.testing.assert_allclose(ours, [a1, b1, w - a1 - b1], atol=0.01 * w)


def test_a_plan_counted_in_conversions_reaches_the_optimum_a_plan_in_revenue_does():
    """A unit of spend brings 2 of revenue or 0.00002 conversions: the search must not stop early on the smaller numbers."""
    rng = np.random.default_rng(12)
    roas, alpha, half = rng.uniform(1, 3, 12), rng.uniform(0.1, 0.6, 12), rng.uniform(0.7, 1.5, 12)
    w = 1500.0 * 12
    plans = []
    for per_spend in (1.0, 1e-5):
        m = synthetic_model(list(roas * per_spend), alpha=list(alpha), half=list(half), jitter=0.1)
        result = optimize_budget(m, w * WEEKS, WEEKS, {"proven": 1.0}, config_tiers(m), wide_bounds(m, w))
        assert result.optimality["proven"].mroas_spread < 1e-3, result.optimality  # channels left at 0 are at their minimum
        plans.append(weekly_of(result, m))
    assert (plans[0] < 1).sum() >= 2  # some channels are best left out
    np.testing.assert_allclose(plans[1], plans[0], atol=1e-4 * w)  # the same split: only the unit differs


def test_moves_far_from_even_split_and_current_plan():
    # ch0 earns far more, saturates late, and has had the smallest budget
    m = synthetic_model([6.0, 0.5, 0.5], levels=[300.0, 1500.0, 1500.0], alpha=0.3, half=[3.0, 1.0, 1.0], jitter=0.1)
    w = 3300.0
    budget = w * WEEKS
    response = ConstantPlanResponse(m, WEEKS, n_draws=None)
    result = optimize_budget(m, budget, WEEKS, {"proven": 1.0}, config_tiers(m), wide_bounds(m, w))
    ours = weekly_of(result, m)
    even = np.full(3, w / 3)
    current_da = current_plan(m, budget, WEEKS)
    assert current_da.dims == ("channel",)
    assert float(current_da.sum()) * WEEKS == pytest.approx(budget)
    current = current_da.sel(channel=m.channels).values
    assert float(current_da.sel(channel="ch0")) / w < 0.2
    assert ours[0] / w > 0.7, f"the best channel got only {ours[0] / w:.0%}"
    assert np.abs(ours - even).sum() > 0.6 * w
    assert np.abs(ours - current).sum() > 1.0 * w
    assert plan_value(response, ours) > 1.1 * plan_value(response, even)
    assert result.forecast.incremental.mean > 1.5 * result.current.mean
    raw = result.to_json()
    assert raw["expected"]["recommended"]["mean"] > 1.5 * raw["expected"]["current"]["mean"]
    assert result.prob_better == 1.0 and raw["prob_better"] == 1.0
    for i, ch in enumerate(m.channels):
        assert result.allocation[ch].current_weekly == pytest.approx(current[i])


def test_equal_marginal_roas_within_each_tier(four_channels):
    m = four_channels  # a proven pair and two one-channel tiers
    m5 = synthetic_model(
        [3.0, 1.5, 2.2, 1.0, 2.0],
        tiers=["proven", "proven", "proven", "test", "test"],
        alpha=[0.3, 0.5, 0.2, 0.4, 0.6],
        half=[1.0, 0.8, 1.2, 1.0, 0.7],
        jitter=0.1,
    )
    for model in (m, m5):
        tiers = config_tiers(model)
        shares, _ = tier_shares(parse_policy("70/20/10"), tiers)
        budget = 70_000.0
        result = optimize_budget(model, budget, WEEKS, shares, tiers, wide_bounds(model, budget))
        response = ConstantPlanResponse(model, WEEKS, n_draws=None)
        mroas = response.gradient_draws(weekly_of(result, model)).mean(axis=0) / WEEKS
        for tier, opt in result.optimality.items():
            assert opt.mroas_spread < 0.01 and opt.equal_mroas, (tier, opt)
            free = [model.channels.index(c) for c in opt.unbound_channels]
            if len(free) > 1:
                vals = mroas[free]
                assert (vals.max() - vals.min()) / vals.mean() < 0.01
        assert len(result.optimality["proven"].unbound_channels) >= 2  # the check above had something to compare
        for i, ch in enumerate(model.channels):
            assert result.allocation[ch].mroas == pytest.approx(mroas[i], rel=1e-6)


def test_bound_channels_satisfy_kkt():
    """A channel held at its max would earn more per unit than its tier's free channels; at its min, less."""
    m = synthetic_model([3.0, 1.5, 1.2, 0.4], alpha=0.3, half=1.0)
    b = channel_bounds(m, {"ch0": (None, 500.0), "ch3": (800.0, None), "ch1": (None, 1e6), "ch2": (None, 1e6)})
    result = optimize_budget(m, 80_000.0, WEEKS, {"proven": 1.0}, config_tiers(m), b)
    a = result.allocation
    assert a["ch0"].bound == "max" and a["ch3"].bound == "min"
    free = [a[c].mroas for c in ("ch1", "ch2")]
    assert a["ch1"].bound is None and a["ch2"].bound is None
    assert max(free) / min(free) - 1 < 0.01
    assert a["ch0"].mroas > max(free)
    assert a["ch3"].mroas < min(free)


@pytest.mark.parametrize(
    "model, extra",
    [
        ({}, {}),
        ({"hill_slope": "free"}, {"hill_slope": [0.7, 1.8, 2.5]}),
        ({"saturation": "logistic"}, {"logistic_lam": [0.8, 1.5, 3.0]}),
        ({"adstock": "weibull"}, {"adstock_shape": [0.8, 1.5, 3.0], "adstock_scale": [1.0, 2.0, 0.7]}),
    ],
    ids=["hill", "hill-free-slope", "logistic", "weibull"],
)
def test_analytic_gradient_equals_finite_differences(model, extra):
    m = synthetic_model([2.5, 1.5, 1.0], alpha=[0.2, 0.5, 0.7], half=[0.6, 1.0, 1.8], jitter=0.2, model=model, extra_params=extra, l_max=6)
    response = ConstantPlanResponse(m, WEEKS, n_draws=None)
    rng = np.random.default_rng(3)
    for weekly in (np.array([1500.0, 2500.0, 3500.0]), rng.uniform(10, 8000, 3), np.array([5.0, 50.0, 20000.0])):
        # (small spend, not zero: an S-curve with slope < 1 has an infinite derivative at zero)
        h = 1e-4 * weekly
        # each channel's revenue depends on its own spend only, so one call perturbs all channels
        fd = (response.revenue_draws(weekly + h) - response.revenue_draws(weekly - h)) / (2 * h)
        analytic = response.gradient_draws(weekly)
        np.testing.assert_allclose(analytic, fd, rtol=1e-4, atol=1e-9 * np.abs(analytic).max())


# --- risk ----------------------------------------------------------------------------------------


def test_risk_trades_mean_for_a_narrower_spread():
    # ch0 earns a bit more on average but is far less certain than ch1
    m = synthetic_model([3.0, 2.6], alpha=0.3, half=1.0, jitter=[0.6, 0.05], n_draws=200, seed=4)
    w = 3000.0
    k = 1.0
    args = (m, w * WEEKS, WEEKS, {"proven": 1.0}, config_tiers(m), wide_bounds(m, w))
    neutral = optimize_budget(*args, risk=0.0)
    careful = optimize_budget(*args, risk=k)
    response = ConstantPlanResponse(m, WEEKS, n_draws=None)

    def stats(result):
        total = response.revenue_draws(weekly_of(result, m)).sum(axis=1)
        return total.mean(), total.std()

    (mean0, sd0), (mean1, sd1) = stats(neutral), stats(careful)
    assert sd1 < 0.9 * sd0, f"risk {k} did not narrow the spread: sd {sd1:.0f} vs {sd0:.0f}"
    assert mean1 - k * sd1 >= mean0 - k * sd0 - 1e-6 * mean0
    assert mean1 <= mean0 * (1 + 1e-7)  # the risk-neutral plan has the highest mean
    assert careful.allocation["ch1"].weekly > neutral.allocation["ch1"].weekly
    assert careful.risk == k
    assert all(o.equal_mroas for o in careful.optimality.values())


# --- tiers ---------------------------------------------------------------------------------------


def fit_with_roas(roas: dict[str, tuple[float, float, float]]) -> FitSummary:
    """A valid fit summary whose channels have the given ROAS (mean, low, high); everything else is a
    placeholder the tier rules do not read."""
    zero = Interval(mean=0.0, low=0.0, high=0.0)
    carry = CarryOver(weights=[1.0], low=[1.0], high=[1.0], first_period_share=1.0, periods_to_90=PeriodsToShare(median=1, low=1, high=1))
    channels = {
        name: ChannelResult(
            tier="test",
            spend=1.0,
            cost=1.0,
            roas=Interval(mean=m, low=lo, high=hi),
            roi=zero,
            contribution=zero,
            contribution_share=zero,
            mroas=zero,
            carryover=carry,
        )
        for name, (m, lo, hi) in roas.items()
    }
    return FitSummary(
        fit_seconds=0.0,
        currency="USD",
        diagnostics=Diagnostics(max_rhat=1.0, min_ess_bulk=1000.0, min_ess_tail=1000.0, divergences=0, converged=True),
        fit=Accuracy(r2=None, mape=None, nrmse=None),
        data=DataPeriod(source="", frequency="weekly", first_date="2023-01-02", last_date="2024-02-19", periods=60, target_total=1.0),
        channels=channels,
        marketing_share=zero,
    )


FIT_FOR_TIERS = fit_with_roas({"ch0": (2.0, 1.5, 2.5), "ch1": (1.5, 0.5, 2.5), "ch2": (1.2, 0.5, 2.0)})


def test_empty_tier_share_is_spread_over_the_others_in_proportion():
    m = synthetic_model([3.0, 1.5, 1.0], tiers=["proven", "proven", "test"])
    shares, notes = tier_shares(parse_policy("70/20/10"), config_tiers(m))
    assert shares == pytest.approx({"proven": 0.7 / 0.9, "test": 0.2 / 0.9})
    assert len(notes) == 1 and "experimental" in notes[0] and "in proportion" in notes[0]
    budget = 90_000.0
    result = recommend_budget(m, FIT_FOR_TIERS, budget, WEEKS, "70/20/10", bounds_overrides={c: (None, 1e6) for c in m.channels})
    assert result.notes == notes
    assert set(result.tiers) == {"proven", "test"}
    assert result.tier_totals == {"proven": 70_000.0, "test": 20_000.0}
    check_cents(result, budget, shares)
    assert result.policy == pytest.approx({"proven": 0.7, "test": 0.2, "experimental": 0.1})
    assert result.to_json()["policy"] == result.policy


def test_strict_tiers_refuse_an_empty_tier():
    m = synthetic_model([3.0, 1.5, 1.0], tiers=["proven", "proven", "test"])
    with pytest.raises(ArgumentError, match=r"experimental.*no channel") as info:
        tier_shares(parse_policy("70/20/10"), config_tiers(m), strict=True)
    assert info.value.argument == "strict"
    # the library names its own argument; the CLI renders it as --strict-tiers (a CLI test checks that)
    with pytest.raises(ArgumentError, match=r"experimental.*no channel.*drop strict to spread") as info:
        recommend_budget(m, FIT_FOR_TIERS, 90_000.0, WEEKS, "70/20/10", strict_tiers=True)
    assert info.value.exit_code == 2
    assert info.value.argument == "strict"
    assert "--strict-tiers" not in str(info.value)
    assert "drop --strict-tiers to spread" in info.value.render("--strict-tiers")
    # a tier the policy gives nothing is not "empty with a share": strict is fine with it
    shares, notes = tier_shares(parse_policy("80/20/0"), config_tiers(m), strict=True)
    assert shares == pytest.approx({"proven": 0.8, "test": 0.2}) and notes == []


def test_policy_with_no_budget_for_any_present_tier_is_an_error():
    m = synthetic_model([3.0, 1.5], tiers=["proven", "test"])
    with pytest.raises(ArgumentError, match=r"no budget to any tier.*change policy") as info:
        recommend_budget(m, FIT_FOR_TIERS, 10_000.0, WEEKS, "0/0/100")
    assert info.value.argument == "policy"
    with pytest.raises(ArgumentError, match=r"^policy: policy '70/20' must be three") as info:
        recommend_budget(m, FIT_FOR_TIERS, 10_000.0, WEEKS, "70/20")
    assert info.value.argument == "policy"


def test_a_tier_with_zero_share_gets_nothing_and_the_rest_is_optimal():
    m = synthetic_model([3.0, 1.5, 1.0, 2.0], tiers=["proven", "proven", "test", "test"], alpha=0.3, half=1.0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = optimize_budget(m, 60_000.0, WEEKS, {"proven": 1.0, "test": 0.0}, config_tiers(m), wide_bounds(m, 1e5))
    assert result.allocation["ch2"].total == 0 and result.allocation["ch3"].total == 0
    # said as the policy's doing, not as a cap from the data
    assert "'ch2' gets nothing: the policy gives its tier (test) no share of the budget" in result.warnings
    assert not [w for w in result.warnings if "held at its maximum" in w and ("ch2" in w or "ch3" in w)]
    assert result.optimality["proven"].equal_mroas, result.optimality["proven"]
    assert any(s["converged"] for s in result.solver["starts"])
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)]
    # without posterior spread every draw is the same: the distributions are still proper (finite, integrate to one)
    assert result.outcomes is not None
    for hist in (result.outcomes.recommended, result.outcomes.current, result.outcomes.difference):
        density, edges = np.array(hist.density), np.array(hist.edges)
        assert np.isfinite(density).all() and np.all(np.diff(edges) > 0)
        assert (density * np.diff(edges)).sum() == pytest.approx(1.0)


def test_auto_tiers_classify_with_reasons():
    summary = fit_with_roas(
        {
            "steady": (2.0, 1.5, 2.6),  # long, narrow, profitable
            "edge": (2.0, 1.0, 3.5),  # exactly 1.25x wide, 52 periods
            "loser": (0.8, 0.6, 1.0),  # narrow but unprofitable
            "young": (3.0, 2.5, 3.5),  # only 20 periods
            "vague": (1.0, 0.1, 2.8),  # interval 2.7x its mean
            "middling": (1.5, 0.5, 3.0),  # 1.67x wide, 80 periods
            "newish": (2.0, 1.8, 2.2),  # 26 periods: not experimental, not proven
        }
    )
    active = {"steady": 104, "edge": 52, "loser": 104, "young": 20, "vague": 104, "middling": 80, "newish": 26}
    out = auto_tiers(summary, active)
    assert {k: t for k, (t, _) in out.items()} == {
        "steady": "proven",
        "edge": "proven",
        "loser": "test",
        "young": "experimental",
        "vague": "experimental",
        "middling": "test",
        "newish": "test",
    }
    assert out["steady"][1].startswith("well measured and profitable: spend in 104 periods, ROAS 2.00 (1.50 to 2.60)")
    assert "too little evidence" in out["young"][1] and "spend in 20 periods" in out["young"][1]
    assert "interval 2.7x its mean" in out["vague"][1]
    assert "promising but not yet proven" in out["loser"][1]


def test_auto_tiers_for_conversions_judge_profit_on_the_value_per_conversion():
    # conversions per 1 spent are far below 1 for any real channel: profit is judged on the value instead
    base = fit_with_roas({"priced": (0.02, 0.016, 0.026), "unpriced": (0.02, 0.016, 0.026), "loss": (0.02, 0.016, 0.026)})
    channels = dict(base.channels)
    channels["priced"] = channels["priced"].model_copy(update={"value_roas": Interval(mean=2.0, low=1.6, high=2.6)})
    channels["loss"] = channels["loss"].model_copy(update={"value_roas": Interval(mean=0.6, low=0.5, high=0.8)})
    summary = base.model_copy(update={"outcome": "conversions", "channels": channels})
    out = auto_tiers(summary, {"priced": 104, "unpriced": 104, "loss": 104})
    assert {k: t for k, (t, _) in out.items()} == {"priced": "proven", "unpriced": "proven", "loss": "test"}
    assert out["priced"][1].startswith("well measured and profitable: spend in 104 periods, conversions per 1 spent 0.02 (0.016 to 0.026)")
    assert "no value per conversion to judge profit" in out["unpriced"][1]


def test_recommend_with_auto_tiers_uses_and_explains_them():
    rng = np.random.default_rng(5)
    spend = np.round(rng.uniform(500, 1500, (60, 3)) * [1, 2, 1], 2)
    spend[20:, 2] = 0.0  # ch2 has spend in only 20 periods
    m = synthetic_model([3.0, 1.5, 1.2], tiers=["test", "test", "test"], spend=spend)
    result = recommend_budget(
        m, FIT_FOR_TIERS, 52_000.0, WEEKS, "70/20/10", auto_tiers=True, bounds_overrides={c: (None, 1e6) for c in m.channels}
    )
    assert {c: a.tier for c, a in result.allocation.items()} == {"ch0": "proven", "ch1": "test", "ch2": "experimental"}
    reasons = result.tier_reasons
    assert reasons is not None and result.to_json()["tier_reasons"] == reasons
    assert reasons["ch0"].startswith("proven, well measured")
    assert reasons["ch1"].startswith("test, promising")
    assert reasons["ch2"].startswith("experimental, too little evidence") and "spend in 20 periods" in reasons["ch2"]
    check_cents(result, 52_000.0, {"proven": 0.7, "test": 0.2, "experimental": 0.1})


def test_recommend_budget_adds_a_forecast_comparable_with_a_scenario(four_channels):
    m = four_channels
    typed = recommend_budget(m, FIT_FOR_TIERS, 60_000.0, WEEKS, bounds_overrides={c: (None, 1e6) for c in m.channels})
    assert typed.tier_reasons is None and "tier_reasons" not in typed.to_json()  # config tiers: nothing to explain
    result = typed.to_json()
    # every key of a plan's forecast (what a scenario reports) is in the optimiser's JSON too
    assert set(typed.forecast.to_json()) - {"roas"} <= set(result)
    for key in ("expected_revenue", "incremental_revenue", "roas_plan"):
        assert set(result[key]) == {"mean", "low", "high"}
    assert result["spend"] == pytest.approx(60_000.0, abs=0.01)
    assert result["spend_by_channel"] == pytest.approx({c: a["total"] for c, a in result["allocation"].items()}, abs=1e-6)
    assert 0.0 <= result["prob_better_than_current"] <= 1.0
    assert result["incremental_revenue"]["mean"] == pytest.approx(result["expected"]["recommended"]["mean"], rel=1e-9)
    assert len(result["dates"]) == WEEKS


# --- errors a user can fix -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def three_tiers() -> MarketingMixModel:
    return synthetic_model([3.0, 1.5, 1.0], tiers=["proven", "test", "experimental"])


def test_bounds_that_cannot_meet_a_tier_share(three_tiers):
    m = three_tiers
    with pytest.raises(MMMError) as info:
        recommend_budget(
            m, FIT_FOR_TIERS, 130_000.0, WEEKS, "70/20/10", bounds_overrides={"ch0": (None, 1e6), "ch1": (None, 1e6), "ch2": (None, 100.0)}
        )
    msg = str(info.value)
    assert info.value.exit_code == 2
    assert "tier 'experimental' must spend 13,000.00 (10% of the budget)" in msg
    assert "(ch2) can take only 0.00 to 1,300.00 over 13 periods" in msg and "widen their bounds" in msg
    # floors too high: the test tier cannot spend as little as its share
    with pytest.raises(MMMError, match=r"tier 'test' must spend 26,000\.00.*can take only 65,000\.00 to"):
        recommend_budget(m, FIT_FOR_TIERS, 130_000.0, WEEKS, "70/20/10", bounds_overrides={"ch0": (None, 1e6), "ch1": (5000.0, 1e6)})


@pytest.mark.parametrize("budget", [0.0, -1000.0, float("nan")])
def test_budget_must_be_positive(three_tiers, budget):
    with pytest.raises(ArgumentError, match=r"^budget must be a positive amount") as info:
        recommend_budget(three_tiers, FIT_FOR_TIERS, budget, WEEKS)
    assert info.value.argument == "budget"


def test_min_above_max_is_an_error(three_tiers):
    with pytest.raises(MMMError, match=r"channel 'ch0': min weekly spend 900\.00 is above its max 500\.00"):
        recommend_budget(three_tiers, FIT_FOR_TIERS, 100_000.0, WEEKS, bounds_overrides={"ch0": (900.0, 500.0)})
    m = synthetic_model([2.0, 2.0], channel_keys={"ch1": {"max_weekly_spend": 300.0}})
    with pytest.raises(MMMError, match=r"channel 'ch1': min weekly spend 400\.00 is above its max 300\.00"):
        channel_bounds(m, {"ch1": (400.0, None)})


def test_other_bad_requests(three_tiers):
    m = three_tiers
    shares, tiers = {"proven": 0.7, "test": 0.2, "experimental": 0.1}, config_tiers(m)
    with pytest.raises(ArgumentError, match=r"^weeks must be at least 1") as info:
        optimize_budget(m, 1000.0, 0, shares, tiers, channel_bounds(m))
    assert info.value.argument == "weeks"
    with pytest.raises(ArgumentError, match=r"^risk must be 0 or more") as info:
        optimize_budget(m, 1000.0, WEEKS, shares, tiers, channel_bounds(m), risk=-1.0)
    assert info.value.argument == "risk"
    with pytest.raises(ArgumentError, match=r"unknown channel.*tv.*ch0, ch1, ch2") as info:
        channel_bounds(m, {"tv": (None, 10.0)})
    assert info.value.argument == "bounds"


def test_analysis_reads_at_most_its_draw_limit_evenly_spaced():
    model = synthetic_model([2.0, 1.0], n_draws=ANALYSIS_DRAWS + 501, jitter=0.3)
    everything = model.idata.posterior["roas"].stack(s=("chain", "draw")).transpose("s", ...).values
    kept = model.posterior_params()["roas"]
    assert kept.shape[0] == ANALYSIS_DRAWS
    np.testing.assert_array_equal(kept[0], everything[0])
    np.testing.assert_array_equal(kept[-1], everything[-1])
    assert synthetic_model([2.0, 1.0], n_draws=50).posterior_params()["roas"].shape[0] == 50  # fewer draws: all of them
    # model choice scores the same thinned draws, chain by chain
    assert pointwise_log_likelihood(model).shape == (1, ANALYSIS_DRAWS, model.n_train)


def test_a_plan_longer_than_the_data_is_warned_about():
    m = synthetic_model([3.0, 1.5], tiers=["proven", "test"])
    short = recommend_budget(m, FIT_FOR_TIERS, 10_000.0, WEEKS, "80/20/0")
    assert not [w for w in short.warnings if "longer than the" in w]
    long = recommend_budget(m, FIT_FOR_TIERS, 10_000.0, m.n_train + 10, "80/20/0")
    assert f"the plan runs {m.n_train + 10} periods, longer than the {m.n_train} the model was fitted on" in " ".join(long.warnings)


def test_projection_onto_a_budget_with_bounds_is_the_nearest_feasible_plan():
    """project(v, total, lo, hi) is the plan nearest v that spends `total` within the bounds: every channel off
    its bounds moves by the same amount, one at a bound would have moved past it; all at lo or hi when out of reach."""
    rng = np.random.default_rng(3)
    for _ in range(500):
        n = int(rng.integers(1, 7))
        lo = rng.uniform(0, 5, n) * (rng.random(n) < 0.7)
        hi = lo + rng.uniform(0, 10, n)
        v = rng.normal(5, 6, n)
        total = float(rng.uniform(lo.sum(), hi.sum()))
        x = project(v, total, lo, hi)
        assert x.sum() == pytest.approx(total, rel=1e-12, abs=1e-9)
        assert (x >= lo).all() and (x <= hi).all()
        free = (x > lo + 1e-9) & (x < hi - 1e-9)
        shift = (x - v)[free]
        if free.any():
            assert np.ptp(shift) < 1e-9
            t = shift[0]
            assert (v[x <= lo + 1e-9] + t <= lo[x <= lo + 1e-9] + 1e-9).all()
            assert (v[x >= hi - 1e-9] + t >= hi[x >= hi - 1e-9] - 1e-9).all()
    lo, hi, v = np.array([1.0, 2.0]), np.array([3.0, 4.0]), np.array([0.5, 9.0])
    np.testing.assert_array_equal(project(v, 1.0, lo, hi), lo)  # less than the minimums: all at lo
    np.testing.assert_array_equal(project(v, 99.0, lo, hi), hi)  # more than the maximums: all at hi
