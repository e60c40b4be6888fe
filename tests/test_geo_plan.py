"""Planning a geo model region by region (`optimizer.geo_allocation: cells`): each region's spend on each channel
is a decision; checked on a synthetic posterior (no sampling) against brute-force moves between cells, the
region caps, your channel limits on the sum over regions, and a nationally bought channel that keeps its split."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import xarray as xr
import yaml
from test_geo_model import CHANNELS, GEOS, geo_config, synthetic_geo_model

from mmm.config import parse_config
from mmm.core.constants import CHANNEL, DATE, GEO
from mmm.core.errors import MMMError
from mmm.data.plans import read_bounds, read_region_bounds
from mmm.model.cells import plan_cells
from mmm.model.estimator import MarketingMixModel
from mmm.planning.by_week import optimize_by_week
from mmm.planning.forecast import forecast_plan
from mmm.planning.geo_plan import CellBounds, plan_bounds
from mmm.planning.objectives import MeanMinusRisk
from mmm.planning.optimizer import optimize_budget
from mmm.planning.response import ConstantPlanResponse

BUDGET, WEEKS = 250_000.0, 13
TIERS = {c: "proven" for c in CHANNELS}
SHARES = {"proven": 1.0}


@pytest.fixture(scope="module")
def synthetic() -> MarketingMixModel:
    return synthetic_geo_model()


def configured(model: MarketingMixModel, edit) -> MarketingMixModel:
    """The model with its config changed by `edit(spec)` (a dict of the YAML)."""
    spec = yaml.safe_load(yaml.safe_dump(geo_config().model_dump(mode="json", exclude_none=True)))
    edit(spec)
    out = copy.copy(model)
    out.config = parse_config(yaml.safe_dump(spec, sort_keys=False))
    return out


def plan(model: MarketingMixModel, overrides=None, mode="cells"):
    return optimize_budget(model, BUDGET, WEEKS, SHARES, TIERS, plan_bounds(model, overrides, mode))


def cell_totals(result) -> np.ndarray:
    """(geo, channel) spend over the horizon."""
    return np.array([[result.geos[g].channels[c].total for c in CHANNELS] for g in GEOS])


def test_a_plan_by_cell_spends_the_budget_and_adds_up(synthetic):
    result = plan(synthetic)
    assert result.geo_allocation == "cells"
    grid = cell_totals(result)
    assert round(grid.sum(), 2) == BUDGET
    for c, ch in enumerate(CHANNELS):
        assert grid[:, c].sum() == pytest.approx(result.allocation[ch].total, abs=0.01)
        assert sum(result.geos[g].channels[ch].share for g in GEOS) == pytest.approx(1.0)
    for g in GEOS:
        assert result.geos[g].total == pytest.approx(grid[GEOS.index(g)].sum())
    assert result.forecast.spend == pytest.approx(BUDGET)
    assert "each region" in (result.forecast.geo_split or "")
    out = result.to_json()
    assert set(out["geos"]) == set(GEOS) and set(out["geos"]["north"]["channels"]) == set(CHANNELS)
    assert {"total", "weekly", "share", "mroas", "current_total", "change", "bound"} <= set(out["geos"]["north"]["channels"]["search"])


def test_no_move_of_spend_between_two_cells_earns_more(synthetic):
    """Brute force along every line the plan could move on: shifting money from one region's cell to another's."""
    result = plan(synthetic)
    bounds = plan_bounds(synthetic, None, "cells")
    assert isinstance(bounds, CellBounds)
    cells = bounds.cells
    response = ConstantPlanResponse(synthetic, WEEKS, n_draws=2000, cells=cells)
    weekly = cell_totals(result).reshape(-1) / WEEKS  # regional channels: one unit per cell, in cell order
    value = MeanMinusRisk().value_and_gradient(response, weekly)[0]
    for i in range(len(weekly)):
        for j in range(len(weekly)):
            for step in (0.02, 0.1, 0.3):
                moved = weekly.copy()
                delta = min(step * weekly[i], bounds.units.high[j] - weekly[j])
                moved[i] -= delta
                moved[j] += delta
                assert MeanMinusRisk().value_and_gradient(response, moved)[0] <= value + 1e-6 * abs(value)
    free = result.optimality["proven"]
    assert free.equal_mroas and len(free.unbound_channels) == len(weekly)


def test_choosing_regions_earns_at_least_what_holding_their_shares_does(synthetic):
    cells, shares = plan(synthetic), plan(synthetic, mode="shares")
    assert shares.geo_allocation == "shares"
    assert cells.forecast.incremental.mean >= shares.forecast.incremental.mean
    assert cells.forecast.current_incremental == shares.forecast.current_incremental  # the same current mix to beat
    now = plan_cells(synthetic)
    held = cell_totals(shares) / cell_totals(shares).sum(axis=0)
    np.testing.assert_allclose(held, now.split, rtol=1e-9)
    assert all(a.mroas is None for p in shares.geos.values() for a in p.channels.values())


def test_a_plan_by_cell_forecasts_what_its_response_says(synthetic):
    cells = plan_cells(synthetic, by_cell=True)
    weekly = np.linspace(500.0, 9000.0, cells.n_units)
    response = ConstantPlanResponse(synthetic, WEEKS, n_draws=None, cells=cells)
    spend = xr.DataArray(
        np.tile(cells.cell_grid(cells.expand(weekly)), (WEEKS, 1, 1)), dims=(DATE, GEO, CHANNEL), coords={GEO: GEOS, CHANNEL: CHANNELS}
    )
    _, draws = forecast_plan(synthetic, spend)
    np.testing.assert_allclose(response.revenue_draws(weekly).sum(axis=1), draws.plan, rtol=1e-9)
    step = 1e-3
    for u in (0, cells.n_units - 1):
        bumped = weekly.copy()
        bumped[u] += step
        numeric = (response.revenue_draws(bumped) - response.revenue_draws(weekly))[:, u] / step
        np.testing.assert_allclose(response.gradient_draws(weekly)[:, u], numeric, rtol=1e-4)


def test_a_region_cap_binds_there_and_is_warned(synthetic):
    free = plan(synthetic)
    cap = 0.5 * free.geos["north"].channels["search"].weekly
    capped = configured(synthetic, lambda s: s["channels"][0].update(geo_bounds={"north": {"max_weekly_spend": cap}}))
    result = plan(capped)
    cell = result.geos["north"].channels["search"]
    assert cell.weekly <= cap + 0.01 and cell.bound == "max" and cell.max_weekly == cap
    assert any("'search' in north is held at its maximum" in w and "your cap in north" in w for w in result.warnings)
    assert result.geos["south"].channels["search"].total > free.geos["south"].channels["search"].total  # the money went elsewhere


def test_your_channel_limit_holds_on_its_sum_over_the_regions(synthetic):
    free = plan(synthetic)
    limit = 0.8 * free.allocation["search"].weekly
    result = plan(synthetic, overrides={"search": (None, limit)})
    assert result.allocation["search"].total <= limit * WEEKS + 0.05
    assert result.allocation["search"].bound == "max"
    assert sum(result.geos[g].channels["search"].total for g in GEOS) == pytest.approx(result.allocation["search"].total, abs=0.05)
    assert round(cell_totals(result).sum(), 2) == BUDGET


def test_a_channel_bought_nationally_keeps_its_split_across_regions(synthetic):
    national = configured(synthetic, lambda s: (s["channels"][1].update(national=True), s["data"].update(geo_column="geo")))
    cells = plan_cells(national, by_cell=True)
    assert cells.n_units == len(GEOS) + 1  # search per region, tv as one
    result = plan(national)
    now = plan_cells(national)
    tv = [result.geos[g].channels["tv"].share for g in GEOS]
    np.testing.assert_allclose(tv, now.split[:, 1], rtol=1e-9)
    assert len({round(result.geos[g].channels["tv"].mroas, 9) for g in GEOS}) == 1  # one decision, one marginal return


def test_bad_region_limits_say_what_to_fix(synthetic):
    with pytest.raises(MMMError, match=r"geo_bounds.south \(line \d+\): min_weekly_spend 50.00 is above max_weekly_spend 10.00"):
        configured(synthetic, lambda s: s["channels"][0].update(geo_bounds={"south": {"min_weekly_spend": 50.0, "max_weekly_spend": 10.0}}))
    above_cap = configured(synthetic, lambda s: s["channels"][0].update(geo_bounds={"south": {"min_weekly_spend": 1e12}}))
    with pytest.raises(MMMError, match=r"channels\[search\]\.geo_bounds: min_weekly_spend 1,000,000,000,000\.00 in south is above its max"):
        plan_bounds(above_cap, None, "cells")
    unknown = configured(synthetic, lambda s: s["channels"][0].update(geo_bounds={"atlantis": {"max_weekly_spend": 1.0}}))
    with pytest.raises(MMMError, match=r"no region named 'atlantis'"):
        plan_bounds(unknown, None, "cells")


def test_a_bounds_file_limits_channels_in_regions(synthetic, tmp_path):
    free = plan(synthetic)
    cap = round(0.5 * free.geos["south"].channels["tv"].weekly, 2)
    csv = tmp_path / "bounds.csv"
    csv.write_text(f"channel,geo,min,max\nsearch,,,20000\ntv,south,,{cap}\n")
    assert read_bounds(csv) == {"search": (None, 20000.0)}
    regions = read_region_bounds(csv, CHANNELS, GEOS)
    assert regions == {"tv": {"south": (None, cap)}}
    result = optimize_budget(synthetic, BUDGET, WEEKS, SHARES, TIERS, plan_bounds(synthetic, read_bounds(csv), "cells", regions))
    assert result.geos["south"].channels["tv"].weekly <= cap + 0.01 and result.geos["south"].channels["tv"].bound == "max"
    yaml_file = tmp_path / "bounds.yaml"
    yaml_file.write_text(yaml.safe_dump({"tv": {"max": 50000, "geos": {"south": {"max": cap}}}}))
    assert read_region_bounds(yaml_file, CHANNELS, GEOS) == regions
    shares = plan_bounds(synthetic, None, "shares", regions)  # by shares a region's cap limits the channel's total
    south = plan_cells(synthetic).split[GEOS.index("south"), 1]
    assert shares.high[1] == pytest.approx(cap / south)


@pytest.mark.parametrize(
    "text, needle",
    [
        (
            "channel,geo,min,max\ntv,atlantis,,5\n",
            r"bounds.csv, row 1: no region named 'atlantis'; the model's regions are north, south, east",
        ),
        ("channel,geo,min,max\nsearch,north,,5\nradio,north,,5\n", r"bounds.csv, row 2: unknown channel 'radio'"),
        ("channel,region,min,max\ntv,north,,5\n", r"the header must be exactly channel,min,max .* or channel,geo,min,max"),
    ],
)
def test_a_bounds_file_with_bad_regions_says_where(tmp_path, text, needle):
    path = tmp_path / "bounds.csv"
    path.write_text(text)
    with pytest.raises(MMMError, match=needle):
        read_region_bounds(path, CHANNELS, GEOS)


def test_region_limits_on_a_national_model_are_refused(tmp_path):
    path = tmp_path / "bounds.csv"
    path.write_text("channel,geo,min,max\ntv,north,,5\n")
    with pytest.raises(MMMError, match="row 1: limits channel 'tv' in region 'north', but the model is national"):
        read_region_bounds(path, CHANNELS, ["national"])


def test_a_plan_by_week_keeps_each_regions_part_of_the_flat_plan(synthetic, monkeypatch):
    model = copy.copy(synthetic)
    n_draws = len(model.posterior_params()["roas"])

    def seasonal(dates, params=None):  # media that earns 30% more in some weeks than others
        return np.tile(1 + 0.3 * np.sin(np.arange(len(dates)) / 3), (n_draws, 1))

    monkeypatch.setattr(model, "media_multiplier", seasonal, raising=False)
    flat = plan(model)
    weekly = optimize_by_week(model, flat, SHARES, TIERS, plan_bounds(model, None, "cells"))
    assert weekly.by_week is not None and weekly.by_week.moves
    assert weekly.geo_allocation == "cells"
    np.testing.assert_allclose(cell_totals(weekly) / cell_totals(weekly).sum(axis=0), cell_totals(flat) / cell_totals(flat).sum(axis=0))
    assert round(cell_totals(weekly).sum(), 2) == BUDGET and weekly.forecast.spend == pytest.approx(BUDGET)
