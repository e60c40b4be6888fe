"""The geo-level hierarchical model: per-geo and total outputs, pooling, recovery, and its formulas without sampling.

One tiny MCMC fit (3 geos of sizes 50:8:1, 60 weeks, 2 channels, hill saturation) on data simulated here with known
per-geo ROAS; the rest checks the formulas on a synthetic posterior.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
import xarray as xr
import yaml

from mmm.analysis.summary import fit_summary
from mmm.config import parse_config
from mmm.core.constants import CHANNEL, DATE, GEO, SAMPLE
from mmm.core.errors import MMMError
from mmm.data.dataset import ModelData
from mmm.model.cells import plan_cells
from mmm.model.estimator import MarketingMixModel
from mmm.model.geo import geo_features, geo_levels, geo_scaling, spend_shares, spread
from mmm.model.geo_fit import geo_share_array
from mmm.model.likelihood import log_density, simulate
from mmm.model.selection import pointwise_log_likelihood
from mmm.planning.bounds import channel_bounds
from mmm.planning.forecast import forecast_plan
from mmm.planning.response import ConstantPlanResponse
from mmm.planning.test_design import DETECT, plan_tests
from mmm.planning.weekly_response import WeeklyPlanResponse
from mmm.report.build import build_report
from mmm.report.experiment_tables import format_test_plan

GEOS = ["north", "south", "east"]
CHANNELS = ["search", "tv"]
SIZES = np.array([50.0, 8.0, 1.0])  # the largest geo is 50x the smallest
NATIONAL_ROAS = np.array([2.0, 1.0])
GEO_FACTOR = np.array([[1.25, 0.8], [0.8, 1.25], [1.0, 1.0]])  # each geo's true ROAS = national x factor
ALPHA, HALF, L_MAX = 0.4, 1.0, 4


def simulate_geo_data(periods: int = 60, seed: int = 3) -> tuple[ModelData, np.ndarray]:
    """Weekly data of three geos with known ROAS (geo, channel): geometric carry-over, hill saturation, seasonality, trend."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2023-01-02", periods=periods, freq="7D")
    level = 1000.0 * SIZES
    typical = np.array([120.0, 200.0])[None, :] * SIZES[:, None]
    spend = typical[None] * rng.uniform(0.2, 1.8, (periods, len(GEOS), len(CHANNELS)))
    w = ALPHA ** np.arange(L_MAX)
    w /= w.sum()
    carried = sum(wl * np.concatenate([np.zeros((lag, *spend.shape[1:])), spend[: periods - lag]]) for lag, wl in enumerate(w))
    saturated = (carried / typical) / (carried / typical + HALF)
    roas = NATIONAL_ROAS[None, :] * GEO_FACTOR
    media = saturated * (roas * spend.sum(axis=0) / saturated.sum(axis=0))
    t = np.arange(periods) / 52
    base = level * (1 + 0.1 * np.sin(2 * np.pi * t)[:, None] + np.array([0.05, -0.05, 0.0]) * t[:, None])
    target = base + media.sum(axis=2) + rng.normal(0, 0.02, (periods, len(GEOS))) * level
    inputs = xr.Dataset(
        {
            "target": ((DATE, GEO), target),
            "spend": ((DATE, GEO, CHANNEL), spend),
            "controls": ((DATE, GEO, "control"), np.zeros((periods, len(GEOS), 0))),
        },
        coords={DATE: dates.values, GEO: GEOS, CHANNEL: CHANNELS, "control": []},
    )
    return ModelData(inputs=inputs, frequency="weekly"), roas


def geo_config(draws: int = 300):
    spec = {
        "data": {"path": "data.csv"},
        "channels": [{"name": c, "spend_column": f"{c}_spend", "tier": "proven"} for c in CHANNELS],
        "model": {"l_max": L_MAX, "saturation": "hill", "seasonality_order": 1},
        "sampler": {"draws": draws, "tune": 300, "chains": 2, "seed": 1, "progress": False},
    }
    return parse_config(yaml.safe_dump(spec, sort_keys=False))


# --- without sampling: a synthetic geo posterior -------------------------------------------------------


def synthetic_geo_model(n_draws: int = 6) -> MarketingMixModel:
    """A 'fitted' geo model whose posterior holds known values (every geo at the national ROAS but one)."""
    data, _ = simulate_geo_data()
    m = MarketingMixModel(geo_config())
    m.data, m.n_train = data, data.n_periods
    m.scaling = geo_scaling(data)
    rng = np.random.default_rng(0)
    g, c = len(GEOS), len(CHANNELS)
    params = {
        "roas": np.tile(NATIONAL_ROAS, (n_draws, 1)),
        "roas_geo_sd": np.full((n_draws, c), 0.2),
        "roas_geo_z": rng.standard_normal((n_draws, g, c)),
        "level_offset": np.zeros(n_draws),
        "level_geo_sd": np.full(n_draws, 0.05),
        "level_geo_z": rng.standard_normal((n_draws, g)),
        "trend": np.zeros(n_draws),
        "trend_geo_sd": np.full(n_draws, 0.1),
        "trend_geo_z": rng.standard_normal((n_draws, g)),
        "season": np.zeros((n_draws, 2)),
        "season_geo_sd": np.full(n_draws, 0.05),
        "season_geo_z": rng.standard_normal((n_draws, g, 2)),
        "adstock_alpha": np.full((n_draws, c), ALPHA),
        "half_saturation": np.full((n_draws, c), HALF),
        "sigma": np.full((n_draws, g), 0.02),
    }
    dims = {k: [GEO, CHANNEL] if v.ndim == 3 and v.shape[2] == c else [GEO] for k, v in params.items() if "_z" in k}
    dims |= {"roas": [CHANNEL], "roas_geo_sd": [CHANNEL], "adstock_alpha": [CHANNEL], "half_saturation": [CHANNEL], "sigma": [GEO]}
    dims |= {"season": ["fourier"], "season_geo_z": [GEO, "fourier"]}
    import arviz as az

    m.idata = az.from_dict(posterior={k: v[None] for k, v in params.items()}, dims=dims, coords={GEO: GEOS, CHANNEL: CHANNELS})
    from mmm.model import geo_fit

    geo_fit.add_derived(m, geo_fit.train_features(m, data), data)
    return m


@pytest.fixture(scope="module")
def synthetic() -> MarketingMixModel:
    return synthetic_geo_model()


def test_components_have_geo_dims_and_each_geos_roas(synthetic):
    m = synthetic
    params = m.posterior_params()
    comps = m.in_sample_components(params)
    assert comps["media"].dims == (SAMPLE, DATE, GEO, CHANNEL)
    assert comps["mean"].sizes[GEO] == 3
    # each geo's contribution over the fitted periods / its spend is that geo's ROAS draw (the coefficients are solved from it)
    roas = comps["media"].sum(DATE) / m.train.spend.sum(DATE)
    np.testing.assert_allclose(roas.transpose(SAMPLE, GEO, CHANNEL).values, params["roas_geo"], rtol=1e-9)
    # the parts add up to the mean, geo by geo
    total = sum(comps[k] for k in ("baseline", "trend", "seasonality", "controls")) + comps["media"].sum(CHANNEL)
    np.testing.assert_allclose(total.values, comps["mean"].values, rtol=1e-9)


def test_per_geo_coefficients_derived_a_few_draws_at_a_time_are_the_same(synthetic, monkeypatch):
    from mmm.model import geo_fit

    monkeypatch.setattr(geo_fit, "DERIVE_DRAWS", 4)  # the synthetic posterior's 6 draws in two uneven parts
    again = synthetic_geo_model()
    np.testing.assert_array_equal(again.idata.posterior["channel_coef"].values, synthetic.idata.posterior["channel_coef"].values)


def test_geo_levels_are_national_times_pooled_deviation(synthetic):
    params = synthetic.posterior_params()
    levels = geo_levels(params, np)
    expected = params["roas"][:, None, :] * np.exp(params["roas_geo_sd"][:, None, :] * params["roas_geo_z"])
    np.testing.assert_allclose(levels["roas_geo"], expected)
    np.testing.assert_allclose(levels["trend_geo"], params["trend"][:, None] + params["trend_geo_sd"][:, None] * params["trend_geo_z"])


def test_graph_and_numpy_formulas_agree(synthetic):
    """The PyMC graph's mean at one draw equals the numpy prediction the analysis uses."""
    m = synthetic
    train = m.train
    model = m._build(train, m._train_features(train))
    draw = {k: v[0] for k, v in m.posterior_params().items()}
    mu = model["obs"].owner.inputs[-2]  # the Normal's mean, on each geo's scale
    graph_mean = mu.eval({model[rv.name]: draw[rv.name] for rv in model.free_RVs if rv.name != "sigma"})
    scale = np.asarray(m.scales.geo_target)
    numpy_mean = m.in_sample_components({k: v[:1] for k, v in m.posterior_params().items()})["mean"].isel({SAMPLE: 0})
    np.testing.assert_allclose(graph_mean * scale, numpy_mean.transpose(DATE, GEO).values, rtol=1e-8)


def test_shares_spread_a_national_plan_and_geo_features_are_per_geo(synthetic):
    data = synthetic.observed
    shares = spend_shares(data)
    np.testing.assert_allclose(shares.sum(axis=0), 1.0)
    recent = data.spend.isel({DATE: slice(-13, None)}).sum(DATE).transpose(GEO, CHANNEL).values
    np.testing.assert_allclose(shares, recent / recent.sum(axis=0))
    feats = geo_features(synthetic.scales, synthetic.config.model, data.dates, data.spend.values, np.zeros((60, 3, 0)))
    assert feats["lagged"].shape == (60, L_MAX, 6)
    # every geo's spend is on its own scale: typical spend 1 in each geo although the geos differ 50x
    on = feats["lagged"][:, 0, :]
    np.testing.assert_allclose(on.mean(axis=0), 1.0, rtol=1e-9)
    p = spread({"adstock_alpha": np.array([[0.1, 0.2]]), "half_saturation": np.array([[1.0, 2.0]])}, synthetic.media, 3, 2)
    np.testing.assert_array_equal(p["adstock_alpha"][0], [0.1, 0.2] * 3)


def test_plan_response_adds_up_the_geos_and_agrees_with_the_forecast(synthetic):
    m = synthetic
    weekly = np.array([9000.0, 14000.0])
    response = ConstantPlanResponse(m, 13, n_draws=None)
    forecast, draws = forecast_plan(m, np.tile(weekly, (13, 1)))
    np.testing.assert_allclose(response.revenue_draws(weekly).sum(axis=1), draws.plan, rtol=1e-9)
    assert forecast.geo_split is not None and "north" in forecast.geo_split
    # exact gradient against a finite difference, per channel
    step = 1e-3
    for c in range(2):
        bumped = weekly.copy()
        bumped[c] += step
        numeric = (response.revenue_draws(bumped) - response.revenue_draws(weekly))[:, c] / step
        np.testing.assert_allclose(response.gradient_draws(weekly)[:, c], numeric, rtol=1e-4)
    by_week = WeeklyPlanResponse(m, 13)
    value, grad = by_week.value_and_gradient(np.tile(weekly, (13, 1)))
    assert value == pytest.approx(float(draws.plan.mean()), rel=1e-9)
    np.testing.assert_allclose(grad.sum(axis=0), response.gradient_draws(weekly).mean(axis=0), rtol=1e-9)
    cells = plan_cells(m)
    assert cells.n_geos == 3 and cells.share.shape == (6,)


def test_noise_and_log_density_per_geo():
    rng = np.random.default_rng(0)
    params = {"sigma": np.array([[0.01, 0.5]] * 4)}
    mean = np.ones((4, 2000, 2)) * np.array([100.0, 10.0])
    draws = simulate(params, mean, rng, np.array([100.0, 10.0]))
    np.testing.assert_allclose(draws.std(axis=(0, 1)), [1.0, 5.0], rtol=0.05)  # each geo's noise on its own scale
    ll = log_density(params, np.ones((3, 2)), np.ones((4, 3, 2)), np.array([100.0, 10.0]))
    assert ll.shape == (4, 3, 2)
    assert ll[0, 0, 0] > ll[0, 0, 1]  # the tighter geo's density at its mean is higher


# --- one tiny MCMC fit --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def geo_fit_summary():
    data, truth = simulate_geo_data()
    model = MarketingMixModel(geo_config()).fit(data)
    return model, fit_summary(model), truth


def test_geo_fit_outputs_per_geo_and_totals(geo_fit_summary):
    model, summary, _ = geo_fit_summary
    out = summary.to_json()
    assert set(out["geos"]) == set(GEOS)
    for ch in CHANNELS:
        per_geo = [out["geos"][g]["channels"][ch] for g in GEOS]
        for key in ("roas", "roi", "contribution", "contribution_share", "mroas"):
            assert all(key in c for c in per_geo)
        assert sum(c["spend"] for c in per_geo) == pytest.approx(out["channels"][ch]["spend"], rel=1e-9)
        assert sum(c["contribution"]["mean"] for c in per_geo) == pytest.approx(out["channels"][ch]["contribution"]["mean"], rel=1e-9)
        assert sum(c["cost"] for c in per_geo) == pytest.approx(out["channels"][ch]["cost"], rel=1e-9)
    assert all(out["geos"][g]["fit"]["r2"] > 0.5 for g in GEOS)
    assert any(c["name"] == "geo_fit" for c in out["review"]["checks"])
    assert pointwise_log_likelihood(model).shape[2:] == (60, 3)


def test_geo_fit_recovers_the_national_roas_and_pools_the_geos(geo_fit_summary):
    model, summary, truth = geo_fit_summary
    spend = model.train.spend.sum(DATE).transpose(GEO, CHANNEL).values
    total_truth = (truth * spend).sum(axis=0) / spend.sum(axis=0)  # the spend-weighted ROAS the totals estimate
    for i, ch in enumerate(CHANNELS):
        assert summary.channels[ch].roas.mean == pytest.approx(total_truth[i], rel=0.35)
    national = model.draws()["roas"].mean(SAMPLE).values  # the pooled centre each geo is drawn towards
    small = summary.geos["east"].channels  # the smallest geo says least: it sits near the national value
    for i, ch in enumerate(CHANNELS):
        geo_mean = small[ch].roas.mean
        low, high = sorted([truth[2, i], national[i]])
        assert low * 0.85 <= geo_mean <= high * 1.15


def test_plan_test_designs_a_geo_test_balanced_on_the_regions_history(geo_fit_summary):
    model, _, _ = geo_fit_summary
    plan = plan_tests(model, budget=250_000.0, weeks=13, test_weeks=4, n_draws=200)
    geo = [d for d in plan.designs if d.kind == "geo"]
    assert geo, plan.notes
    for d in geo:
        control = [g for g in GEOS if g not in d.treated_geos]
        assert d.treated_geos and len(control) >= 2  # the largest region outweighs the rest: it is never treated
        assert "north" in control
        assert d.spend_change < 0 and 0 < d.geo_share < 1 and d.expected_lift_se > 0
        assert d.min_detectable_lift == pytest.approx(DETECT * d.expected_lift_se)
    assert "treated regions" in format_test_plan(plan, "USD")


def _with_region_bounds(model: MarketingMixModel, bounds: dict) -> MarketingMixModel:
    spec = yaml.safe_load(yaml.safe_dump(geo_config().model_dump(mode="json", exclude_none=True)))
    spec["channels"][0]["geo_bounds"] = bounds
    bounded = copy.copy(model)
    bounded.config = parse_config(yaml.safe_dump(spec, sort_keys=False))
    return bounded


def test_region_limits_bound_the_channel_total_through_the_regions_share(synthetic):
    share = float(geo_share_array(synthetic).sel({GEO: "south", CHANNEL: "search"}))
    bounded = _with_region_bounds(synthetic, {"south": {"max_weekly_spend": 400.0, "min_weekly_spend": 40.0}})
    limits = channel_bounds(bounded)
    assert limits.high[0] == pytest.approx(400.0 / share) and limits.low[0] == pytest.approx(40.0 / share)
    assert "south" in limits.source[0]
    assert limits.high[1] == channel_bounds(synthetic).high[1]  # other channels keep theirs
    with pytest.raises(MMMError, match=r"channels\[search\]\.geo_bounds.*'atlantis'.*north, south, east"):
        channel_bounds(_with_region_bounds(synthetic, {"atlantis": {"max_weekly_spend": 1.0}}))


def test_report_shows_totals_then_each_geos_returns_in_small_multiples(geo_fit_summary):
    _, summary, _ = geo_fit_summary
    report = build_report(summary)
    chart = report.images["geo_returns.png"]
    assert chart.startswith(b"\x89PNG") and len(chart) > 10_000
    html = report.html
    assert html.index("returns.png") < html.index("By geo") < html.index("geo_returns.png")
