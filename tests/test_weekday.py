"""Daily data: the baseline follows the day of the week (Saturday's sales are not Tuesday's), beside the year's
cycle; weekly data have no such terms. Recovery of a known weekday pattern from a short daily fit."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml
from helpers import SHORT_SAMPLER, invoke, isolated_workdir, store_uri

from mmm.core.constants import WEEK_ORDER
from mmm.model.features import fourier

DAYS = pd.date_range("2024-01-01", periods=196, freq="D")  # 28 whole weeks, starting on a Monday
WEEKDAY_EFFECT = np.array([-1800.0, -1200.0, -600.0, 0.0, 600.0, 2400.0, 600.0])  # Monday..Sunday, currency


def test_daily_terms_take_any_weekday_pattern_and_weekly_data_have_none():
    daily = fourier(DAYS, 2, "daily", weekday=True)
    assert daily.shape == (len(DAYS), 4 + 2 * WEEK_ORDER)
    pattern = np.random.default_rng(0).normal(size=7)[DAYS.dayofweek]  # any effect per weekday
    basis = np.column_stack([np.ones(len(DAYS)), daily[:, 4:]])
    fitted = basis @ np.linalg.lstsq(basis, pattern, rcond=None)[0]
    assert np.abs(fitted - pattern).max() < 1e-9  # the 6 weekly terms and the level span every weekday pattern
    assert fourier(DAYS, 2, "daily", weekday=False).shape[1] == 4
    weeks = pd.date_range("2024-01-01", periods=104, freq="7D")
    assert fourier(weeks, 2, "weekly", weekday=True).shape[1] == 4
    assert fourier(DAYS, 0, "daily", weekday=True).shape[1] == 2 * WEEK_ORDER  # no yearly cycle, still the week's


def test_the_weekday_terms_count_as_parameters_of_daily_data():
    from mmm.config import parse_config
    from mmm.data.loading import count_parameters

    cfg = parse_config(yaml.safe_dump({"data": {"path": "d.csv"}, "channels": [{"name": "search", "spend_column": "s"}]}))
    weekly, daily = count_parameters(cfg, 0, 100, "weekly"), count_parameters(cfg, 0, 100, "daily")
    assert daily == weekly + 2 * WEEK_ORDER
    off = cfg.model_copy(update={"model": cfg.model.model_copy(update={"weekday": False})})
    assert count_parameters(off, 0, 100, "daily") == weekly


@pytest.fixture(scope="module")
def daily_fit(tmp_path_factory):
    """A short fit of 28 weeks of daily sales with a strong weekday pattern and two channels."""
    for root in isolated_workdir(tmp_path_factory, "weekday"):
        rng = np.random.default_rng(4)
        spend = {c: np.round(rng.gamma(4, level / 4, len(DAYS)), 2) for c, level in (("search", 800.0), ("social", 500.0))}
        revenue = 20000 + WEEKDAY_EFFECT[DAYS.dayofweek] + 1.5 * spend["search"] + 1.0 * spend["social"] + rng.normal(0, 400, len(DAYS))
        data = pd.DataFrame({"date": DAYS.strftime("%Y-%m-%d"), "revenue": revenue.round(2), **{f"{c}_spend": v for c, v in spend.items()}})
        data.to_csv(root / "daily.csv", index=False)
        config = {
            "data": {"path": "daily.csv", "date_column": "date", "target_column": "revenue"},
            "channels": [{"name": c, "spend_column": f"{c}_spend", "tier": "proven"} for c in spend],
            "model": {"saturation": "hill", "seasonality_order": 0},
        }
        (root / "daily.yaml").write_text(yaml.safe_dump(config))
        out, uri = root / "fit.json", store_uri(root / "store")
        result = invoke("fit", root / "daily.yaml", "--output-json", out, "--tracking-uri", uri, *SHORT_SAMPLER)
        assert result.exit_code == 0, result.output
        yield json.loads(out.read_text()) | {"store": uri}


def test_a_daily_fit_recovers_the_weekday_pattern(daily_fit):
    seasonality = np.asarray(daily_fit["timeline"]["seasonality"], dtype=float)[: len(DAYS)]
    by_weekday = pd.Series(seasonality).groupby(DAYS.dayofweek).mean().to_numpy()
    assert np.corrcoef(by_weekday, WEEKDAY_EFFECT)[0, 1] > 0.95
    assert by_weekday.max() - by_weekday.min() == pytest.approx(np.ptp(WEEKDAY_EFFECT), rel=0.25)
    assert daily_fit["fit"]["r2"] > 0.8  # without the weekday the model explains under half: the pattern is most of the variation


def test_a_model_saved_before_weekday_terms_loads_as_it_was_fitted(daily_fit):
    """Its saved config has no model.weekday: it is read as off, so its 4 seasonal terms still fit its draws."""
    from mmm.config import parse_config, parse_fitted_config

    saved = parse_config(yaml.safe_dump({"data": {"path": "daily.csv"}, "channels": [{"name": "search", "spend_column": "s"}]}))
    assert (
        saved.model.weekday
        and not parse_fitted_config(yaml.safe_dump(saved.model_dump(mode="json", exclude={"model": {"weekday"}}))).model.weekday
    )
    assert parse_fitted_config(saved.to_yaml()).model.weekday  # saved since: as fitted, on
    assert daily_fit["model_settings"]["weekday"] is True


def test_a_plan_of_days_speaks_days(daily_fit):
    """Planning on daily data: the forecast runs through the weekday terms, and the plan is told in days."""
    run = ("--run-id", daily_fit["run_id"], "--tracking-uri", daily_fit["store"], "--force")
    result = invoke("optimize", *run, "--budget", 14 * 1300, "--weeks", 14, "--by-week")
    assert result.exit_code == 0, result.output
    assert "Plan by day: Media earns the same in every day" in result.output and "every week" not in result.output
