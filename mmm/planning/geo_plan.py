"""A geo model's plan region by region (`optimizer.geo_allocation`): its decisions, its limits and its answer per region.

cells (the default on data by geo): each region's weekly spend on each channel is a decision, so the
optimiser moves money into the regions where a channel earns most at the margin. A channel bought
nationally stays one decision, spread over the regions by its (population) split. A region's cell is
limited by the channel's `geo_bounds` there, else to 0 .. 1.5x the highest weekly spend seen in that
region (the region's response is not measured beyond it); your limits on a channel (config or
--bounds) hold on its total over the regions.

shares: channel totals are the decisions, each region keeping its share of the channel's recent spend.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from mmm.config.spec import RegionBound
from mmm.core.constants import CHANNEL, DATE, DEFAULT_MAX_FACTOR, GEO
from mmm.core.errors import MMMError
from mmm.model.cells import PlanCells, plan_cells
from mmm.model.estimator import MarketingMixModel
from mmm.planning.bounds import Bounds, RegionLimits, at_bound, channel_bounds, check_region, region_limits, yours
from mmm.planning.results import CellAllocation, RegionPlan, TierOptimality

GeoAllocation = Literal["cells", "shares"]


@dataclass
class CellBounds(Bounds):
    """Limits of a plan by region. low, high, source (as `Bounds`): each channel's weekly total, as far as its
    regions' limits and yours allow; units: weekly limits per decision, in `cells` unit order; limits:
    (unit indices, low, high) of each channel with a limit of yours on its weekly total over the regions."""

    cells: PlanCells
    units: Bounds
    limits: list[tuple[np.ndarray, float, float]]


@dataclass(frozen=True)
class RegionPlanning:
    """How a geo plan's channel totals land in the regions. split: (geo, channel) each region's share of each
    channel's spend; mroas: (geo, channel) extra outcome per extra unit of the cell's total spend (None when the
    regions were not decisions); low, high: (geo, channel) weekly limits of each cell's decision (None likewise);
    optimality: the tiers' equal-marginal check over the decisions (cells), when they were cells; caps: per
    geo, channel where a region's own cap came from (None for a channel bought nationally, limited as a whole)."""

    mode: GeoAllocation
    split: np.ndarray
    mroas: np.ndarray | None = None
    low: np.ndarray | None = None
    high: np.ndarray | None = None
    optimality: dict[str, TierOptimality] | None = None
    caps: list[list[str | None]] | None = None


def plan_bounds(
    model: MarketingMixModel,
    overrides: dict[str, tuple[float | None, float | None]] | None,
    geo_allocation: GeoAllocation,
    regions: RegionLimits | None = None,
) -> Bounds:
    """The limits a plan works under: per channel (`channel_bounds`), or `CellBounds` for a geo model planned by cells.
    regions: limits per channel and region from the --bounds file (they replace the config's `geo_bounds` there)."""
    if not model.is_geo or geo_allocation == "shares":
        return channel_bounds(model, overrides, regions=regions)
    overrides = overrides or {}
    channel = channel_bounds(model, overrides, by_cell=True, regions=regions)
    cells = plan_cells(model, by_cell=True)
    specs = model.config.channels
    in_regions = [region_limits(spec, regions) for spec in specs]
    for spec, named in zip(specs, in_regions):
        for geo in named:
            check_region(model, spec.name, geo)
    seen = model.observed.spend.max(DATE).sel({GEO: cells.geos, CHANNEL: model.channels}).transpose(GEO, CHANNEL).values
    n = cells.n_units
    lo, hi, src = np.zeros(n), np.zeros(n), [""] * n
    for u, (g, c) in enumerate(zip(cells.unit_geo, cells.unit_channel)):
        if g < 0:  # bought nationally: one decision, limited as a channel
            lo[u], hi[u], src[u] = channel.low[c], channel.high[c], channel.source[c]
            continue
        geo, name = cells.geos[g], specs[c].name
        limit = in_regions[c].get(geo, RegionBound())
        lo[u] = limit.min_weekly_spend or 0.0
        if limit.max_weekly_spend is not None:
            hi[u], src[u] = limit.max_weekly_spend, f"your cap in {geo}"
        else:
            hi[u] = DEFAULT_MAX_FACTOR * seen[g, c]
            src[u] = f"{DEFAULT_MAX_FACTOR:g}x its highest weekly spend in {geo} (the region's curve is not measured beyond it)"
        if lo[u] > hi[u]:
            raise MMMError(
                f"config key channels[{name}].geo_bounds: min_weekly_spend {lo[u]:,.2f} in {geo} is above its max {hi[u]:,.2f} "
                f"({src[u]}); lower the minimum or set a max_weekly_spend for {geo}"
            )
    limits, ch_lo, ch_hi, ch_src = [], channel.low.copy(), channel.high.copy(), list(channel.source)
    for c, spec in enumerate(specs):
        idx = np.flatnonzero(cells.unit_channel == c)
        if spec.national:
            continue
        mine_lo, mine_hi = yours(spec, overrides)
        ch_lo[c], ch_hi[c], ch_src[c] = max(mine_lo or 0.0, lo[idx].sum()), hi[idx].sum(), "the sum of its regions' limits"
        if mine_hi is not None and mine_hi < ch_hi[c]:
            ch_hi[c], ch_src[c] = mine_hi, "your bound"
        if ch_lo[c] > ch_hi[c]:
            raise MMMError(
                f"channel '{spec.name}': min weekly spend {ch_lo[c]:,.2f} is above the {ch_hi[c]:,.2f} its regions can take "
                f"({ch_src[c]}); lower the minimum or raise its regions' caps (geo_bounds)"
            )
        if mine_lo or mine_hi is not None:
            limits.append((idx, float(mine_lo or 0.0), float(np.inf if mine_hi is None else mine_hi)))
    return CellBounds(ch_lo, ch_hi, ch_src, cells, Bounds(lo, hi, src), limits)


def unit_current(model: MarketingMixModel, cells: PlanCells, current: np.ndarray) -> np.ndarray:
    """The current mix (weekly spend per channel, spread over the regions by their recent shares) per decision of `cells`."""
    return cells.collapse(plan_cells(model).expand(current))


def region_planning(cells: PlanCells, totals: np.ndarray, mroas: np.ndarray, units: Bounds, default_split: np.ndarray) -> RegionPlanning:
    """Unit totals (currency over the horizon) and marginal ROAS of a plan by region, as cells (geo, channel);
    a channel with no spend keeps `default_split` (geo, channel)."""
    grid = cells.cell_grid(cells.expand(totals))
    channel_totals = grid.sum(axis=0)
    split = np.where(channel_totals > 0, grid / np.where(channel_totals > 0, channel_totals, 1.0), default_split)

    def per_cell(values: np.ndarray) -> np.ndarray:
        return cells.cell_grid(cells.per_cell(values))

    share = cells.split  # a nationally bought channel's limits reach each region by its split
    caps = [units.source[u] if cells.unit_geo[u] >= 0 else None for u in cells.unit]
    per_geo = [caps[g * cells.n_channels : (g + 1) * cells.n_channels] for g in range(cells.n_geos)]
    return RegionPlanning("cells", split, per_cell(mroas), per_cell(units.low) * share, per_cell(units.high) * share, caps=per_geo)


def channel_mroas(planning: RegionPlanning) -> np.ndarray:
    """Each channel's marginal ROAS (channel,): one more unit of its total, spread over the regions like its plan."""
    assert planning.mroas is not None
    return (planning.split * planning.mroas).sum(axis=0)


def region_plans(
    model: MarketingMixModel, totals: np.ndarray, current: np.ndarray, weeks: int, planning: RegionPlanning
) -> dict[str, RegionPlan]:
    """The plan per region and channel. totals: channel totals over the horizon (currency); current: the current
    mix per week (channel,), whose regions keep their recent shares."""
    now_split = plan_cells(model).split
    spend = totals * planning.split  # (geo, channel) over the horizon
    bounds = np.full(spend.shape, None, dtype=object)
    if planning.low is not None and planning.high is not None:
        flags = at_bound((spend / weeks).ravel(), planning.low.ravel(), planning.high.ravel())
        bounds = np.array(flags, dtype=object).reshape(spend.shape)
        bounds[(bounds == "min") & (planning.low <= 0)] = None  # a floor of 0 is no limit a region is held at
    out = {}
    for g, geo in enumerate(model.observed.geos):
        channels = {}
        for c, ch in enumerate(model.channels):
            total = float(spend[g, c])
            was = float(current[c] * now_split[g, c] * weeks)
            channels[ch] = CellAllocation(
                total=total,
                weekly=total / weeks,
                share=float(planning.split[g, c]),
                mroas=None if planning.mroas is None else float(planning.mroas[g, c]),
                current_total=was,
                change=total - was,
                change_pct=total / was - 1 if was > 0 else None,
                min_weekly=None if planning.low is None else float(planning.low[g, c]),
                max_weekly=None if planning.high is None else float(planning.high[g, c]),
                bound=bounds[g, c],
            )
        out[str(geo)] = RegionPlan(total=float(sum(a.total for a in channels.values())), channels=channels)
    return out


def region_warnings(geos: dict[str, RegionPlan], planning: RegionPlanning) -> list[str]:
    """A warning per region's cell held at its own cap or floor (a channel bought nationally is warned about as a whole)."""
    out = []
    for g, (geo, plan) in enumerate(geos.items()):
        for c, (ch, a) in enumerate(plan.channels.items()):
            cap = planning.caps[g][c] if planning.caps is not None else None
            if cap is None or a.bound is None:
                continue
            if a.bound == "max":
                out.append(
                    f"'{ch}' in {geo} is held at its maximum of {a.max_weekly:,.2f} per period ({cap}); it would take more there otherwise"
                )
            elif a.min_weekly:
                out.append(
                    f"'{ch}' in {geo} is held at its minimum of {a.min_weekly:,.2f} per period (your bound); it would take less there otherwise"
                )
    return out


def planned_split(model: MarketingMixModel, geos: dict[str, RegionPlan]) -> np.ndarray:
    """(geo, channel) each region's share of each channel in a plan's `geos`."""
    return np.array([[geos[str(g)].channels[ch].share for ch in model.channels] for g in model.observed.geos])
