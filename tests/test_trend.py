"""The baseline trend: linear, flexible (piecewise linear, automatic changepoints) or none, and the
residual-trend statistic that tells when a linear trend does not fit."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from click.testing import CliRunner

from mmm.analysis.residuals import residual_trend, slow_basis
from mmm.cli import main
from mmm.config import load_config, parse_config, with_overrides
from mmm.core.constants import CHANNEL, CONTROL, DATE, GEO, SAMPLE
from mmm.core.errors import ConfigError
from mmm.data.loading import count_parameters
from mmm.model.estimator import MarketingMixModel
from mmm.model.features import trend_changepoints, trend_hinges
from mmm.simulation.scenarios import write_scenario

MINIMAL = """\
data:
  path: data.csv
channels:
  - name: search
    spend_column: search_spend
"""
SHORT = {"sampler.draws": 200, "sampler.tune": 200, "sampler.chains": 2}


# --- config (no sampling) ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, kind", [("linear", "linear"), ("flexible", "flexible"), ("none", "none"), ("true", "linear"), ("false", "none")]
)
def test_config_accepts_each_trend_kind_and_the_old_booleans(value, kind):
    cfg = parse_config(MINIMAL + f"model:\n  trend: {value}\n")
    assert cfg.model.trend == kind
    assert parse_config(cfg.to_yaml()).model.trend == kind  # the written config reads back the same
    assert parse_config(MINIMAL).model.trend == "linear"


@pytest.mark.parametrize("value", ["wiggly", "1", "[linear]"])
def test_config_rejects_other_trends_naming_key_line_and_choices(value):
    with pytest.raises(ConfigError) as info:
        parse_config(MINIMAL + f"model:\n  trend: {value}\n")
    assert "model.trend (line 7): Input should be 'linear', 'flexible' or 'none'" in str(info.value)
    with pytest.raises(ConfigError, match=r"model.trend \(set by override\)"):
        with_overrides(parse_config(MINIMAL), {"model.trend": "bendy"})


def test_parameter_count_follows_the_trend_kind():
    def count(kind: str, periods: int) -> int:
        return count_parameters(parse_config(MINIMAL + f"model:\n  trend: {kind}\n"), 0, periods)

    assert count("linear", 104) == count("none", 104) + 1
    assert count("flexible", 104) == count("linear", 104) + 8  # one changepoint per 13 periods
    assert count("flexible", 26) == count("linear", 26) + 2  # at least 2
    assert count("flexible", 730) == count("linear", 730) + 12  # at most 12


def test_changepoints_are_spread_over_the_first_85_percent_and_hinges_centred():
    spec = parse_config(MINIMAL + "model:\n  trend: flexible\n").model
    cps = trend_changepoints(104, spec)
    assert len(cps) == 8
    np.testing.assert_allclose(np.diff(cps), 0.85 / 8)
    assert cps[-1] == pytest.approx(0.35)  # 85% of the way from -0.5 to 0.5
    time = np.arange(104) / 103 - 0.5
    hinges = trend_hinges(time, 104, spec)
    np.testing.assert_allclose(hinges.mean(axis=0), 0.0, atol=1e-12)  # the intercept stays the average level
    future = trend_hinges(np.array([0.6, 0.7]), 104, spec)
    np.testing.assert_allclose(future[1] - future[0], 0.1)  # after the data every hinge keeps its slope
    assert trend_hinges(time, 104, parse_config(MINIMAL).model).shape == (104, 0)


# --- the residual-trend statistic ------------------------------------------------------------------


def test_residual_trend_of_white_noise_is_not_significant():
    rng = np.random.default_rng(3)
    p_values = np.array([residual_trend(rng.normal(0, 1.0, 104)).p_value for _ in range(400)])
    assert 0.02 < np.mean(p_values < 0.05) < 0.09  # a calibrated test: about 5% false alarms
    one = residual_trend(np.random.default_rng(11).normal(0, 1.0, 104))
    assert one.p_value > 0.1 and one.share < 0.1


def test_residual_trend_finds_a_bend_in_noise():
    rng = np.random.default_rng(5)
    t = np.linspace(0, 1, 104)
    bend = np.interp(t, [0, 0.5, 1], [0, 1.0, 0.2])
    found = residual_trend(bend - bend.mean() + rng.normal(0, 0.3, 104))
    assert found.p_value < 1e-6
    assert 0.4 < found.share < 1
    assert residual_trend(np.full(60, 3.0)).p_value == 1.0


def test_slow_terms_are_all_longer_than_a_year():
    basis = slow_basis(104, 52.18)
    assert basis.shape == (104, 1 + 3)  # a line and cosines of periods 208, 104 and 69 weeks
    assert slow_basis(52, 52.18).shape == (52, 2)
    assert slow_basis(2000, 365.25).shape == (2000, 1 + 6)


# --- the bend scenario ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bend(tmp_path_factory):
    out = tmp_path_factory.mktemp("bend")
    result = CliRunner().invoke(main, ["simulate", "--scenario", "bend", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return {"config": out / "config.yaml", "truth": json.loads((out / "truth.json").read_text())}


def test_bend_scenario_has_a_bending_true_trend_and_a_default_config(bend):
    trend = np.array(bend["truth"]["weekly"]["trend"])
    assert len(trend) == 104 and trend[0] == 0
    assert trend[51] > 20_000 and trend[-1] < 0.5 * trend[51]  # grows for a year, then falls back
    assert load_config(bend["config"]).model.trend == "linear"
    linear_truth = json.loads(write_scenario("clean", bend["config"].parent / "clean")["truth"].read_text())
    np.testing.assert_allclose(np.diff(linear_truth["weekly"]["trend"], 2), 0.0, atol=1e-6)  # other scenarios stay straight


def fitted(bend: dict, kind: str) -> MarketingMixModel:
    cfg = with_overrides(load_config(bend["config"]), {**SHORT, "model.trend": kind})
    return MarketingMixModel(cfg).fit()


@pytest.fixture(scope="module")
def fits(bend) -> dict[str, MarketingMixModel]:
    return {kind: fitted(bend, kind) for kind in ("linear", "flexible", "none")}


def fitted_trend(model: MarketingMixModel) -> np.ndarray:
    """Posterior-mean trend component (date,), currency."""
    return model.in_sample_components()["trend"].sum(GEO).mean(SAMPLE).values


def residuals(model: MarketingMixModel) -> np.ndarray:
    """Actual minus posterior-mean prediction (date,), currency."""
    mean = model.in_sample_components()["mean"].sum(GEO).mean(SAMPLE).values
    return model.observed.target.sum(GEO).values - mean


def test_flexible_trend_recovers_the_bend(bend, fits):
    true = np.array(bend["truth"]["weekly"]["trend"])
    true = true - true.mean()  # the model's trend is centred over the fitted periods

    def rmse(kind: str) -> float:
        return float(np.sqrt(np.mean((fitted_trend(fits[kind]) - true) ** 2)))

    assert np.corrcoef(fitted_trend(fits["flexible"]), true)[0, 1] > 0.95
    assert rmse("flexible") < 0.3 * rmse("linear")


def test_residual_trend_flags_the_linear_fit_but_not_the_flexible_one(fits):
    assert residual_trend(residuals(fits["linear"])).p_value < 0.01
    assert residual_trend(residuals(fits["flexible"])).p_value > 0.1


def test_no_trend_means_a_zero_trend_component(fits):
    model = fits["none"]
    assert "trend" not in model.idata.posterior and "trend_change" not in model.idata.posterior
    assert np.all(model.in_sample_components()["trend"].values == 0)


def future_trend(model: MarketingMixModel, periods: int) -> np.ndarray:
    """Trend draws (sample, date) over the periods after the data, currency."""
    d = model.observed
    dates = pd.date_range(d.dates[-1] + pd.Timedelta(days=7), periods=periods, freq="7D")
    spend = xr.DataArray(np.zeros((periods, len(model.channels))), dims=(DATE, CHANNEL), coords={DATE: dates, CHANNEL: model.channels})
    controls = xr.DataArray(np.zeros((periods, len(d.control_names))), dims=(DATE, CONTROL), coords={DATE: dates, CONTROL: d.control_names})
    return model.predict_components(spend, controls)["trend"].sum(GEO).values


@pytest.mark.parametrize("kind", ["linear", "flexible", "none"])
def test_save_load_round_trip_and_forecast_continues_the_last_slope(fits, kind, tmp_path):
    model = fits[kind]
    again = MarketingMixModel.load(model.save(tmp_path / "model.nc"))
    assert again.config.model.trend == kind
    xr.testing.assert_identical(again.in_sample_components(), model.in_sample_components())
    np.testing.assert_array_equal(future_trend(again, 13), future_trend(model, 13))
    # the last fitted periods lie after every changepoint: the forecast goes on in a straight line
    inside = model.in_sample_components()["trend"].sum(GEO).values
    path = np.concatenate([inside[:, -3:], future_trend(model, 13)], axis=1)
    scale = np.abs(inside).max() + 1.0
    np.testing.assert_allclose(np.diff(path, 2, axis=1) / scale, 0.0, atol=1e-9)
