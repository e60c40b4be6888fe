"""Weekly spend limits per channel, and exact-to-the-cent splitting of a budget."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mmm.config.spec import ChannelSpec, RegionBound
from mmm.core.constants import CHANNEL, DATE, DEFAULT_MAX_FACTOR, GEO
from mmm.core.errors import ArgumentError, MMMError
from mmm.model import geo_fit
from mmm.model.estimator import MarketingMixModel

BOUND_TOL = 1e-6  # relative distance to a bound that counts as binding
CENT = 0.01  # currency: plans are rounded to cents
DEFAULT_CAP_NOTE = f"{DEFAULT_MAX_FACTOR:g}x the highest weekly spend in the data (the curve is not measured beyond it)"


@dataclass
class Bounds:
    """Weekly spend limits per channel (currency per period) and where each came from."""

    low: np.ndarray
    high: np.ndarray
    source: list[str]


MAX_BUDGET = 1e15  # currency; above it a plan's cents are no longer exact in floating point


def check_budget(budget: float) -> None:
    """Refuse a budget that is not a positive, finite amount of currency (below MAX_BUDGET, where cents stay exact)."""
    if not 0 < budget < MAX_BUDGET:
        raise ArgumentError("budget", f"must be a positive amount below {MAX_BUDGET:,.0f}, not {budget:g}")


def yours(ch: ChannelSpec, overrides: dict[str, tuple[float | None, float | None]]) -> tuple[float | None, float | None]:
    """A channel's weekly limits (low, high) that you set: --bounds first, then the config; None where none is set."""
    o_lo, o_hi = overrides.get(ch.name, (None, None))
    return (o_lo if o_lo is not None else ch.min_weekly_spend), (o_hi if o_hi is not None else ch.max_weekly_spend)


RegionLimits = dict[str, dict[str, tuple[float | None, float | None]]]  # channel -> region -> (min, max) weekly spend


def region_limits(ch: ChannelSpec, regions: RegionLimits | None) -> dict[str, RegionBound]:
    """A channel's limits per region: the config's `geo_bounds`, each replaced by the --bounds file's limits for that region."""
    given = {g: RegionBound(min_weekly_spend=lo, max_weekly_spend=hi) for g, (lo, hi) in (regions or {}).get(ch.name, {}).items()}
    return {**ch.geo_bounds, **given}


def highest_spend(model: MarketingMixModel) -> np.ndarray:
    """Per channel (model order), the highest spend of one period in the data, all regions together (currency):
    beyond it the response curve is not measured, only assumed."""
    return np.asarray(model.observed.spend.sum(GEO).max(DATE).sel({CHANNEL: model.channels}).values, dtype=float)


def channel_bounds(
    model: MarketingMixModel,
    overrides: dict[str, tuple[float | None, float | None]] | None = None,
    by_cell: bool = False,
    regions: RegionLimits | None = None,
) -> Bounds:
    """Bounds from --bounds overrides, else the config, else 0 to 1.5x the highest weekly spend seen.

    A channel's limits in named regions (`geo_bounds`, or `regions` from the --bounds file) limit its total
    through the regions' shares of it, except under `by_cell` for a channel bought by region, whose cells
    carry them themselves.
    """
    overrides = overrides or {}
    unknown = sorted(set(overrides) - set(model.channels))
    if unknown:
        raise ArgumentError(
            "bounds", f"{{arg}} names unknown channel(s) {', '.join(unknown)}; the model's channels are {', '.join(model.channels)}"
        )
    lo, hi, src = [], [], []
    seen = highest_spend(model)
    for ch in model.config.channels:
        cap = DEFAULT_MAX_FACTOR * float(seen[model.channels.index(ch.name)])
        mine_lo, mine_hi = yours(ch, overrides)
        low = mine_lo if mine_lo is not None else 0.0
        high = mine_hi if mine_hi is not None else cap
        src.append("your bound" if mine_hi is not None else DEFAULT_CAP_NOTE)
        in_regions = region_limits(ch, regions)
        for geo, limit in in_regions.items():
            if not by_cell or ch.national:
                low, high, src[-1] = _region_limits(model, ch.name, geo, limit, low, high, src[-1])
        if low > high:
            why = "" if mine_hi is not None or in_regions else f" (the default cap, {src[-1]})"
            raise MMMError(f"channel '{ch.name}': min weekly spend {low:,.2f} is above its max {high:,.2f}{why}; fix the bounds")
        lo.append(low)
        hi.append(high)
    return Bounds(np.array(lo, float), np.array(hi, float), src)


def check_region(model: MarketingMixModel, channel: str, geo: str) -> None:
    """MMMError when a channel's `geo_bounds` name a region the model does not have (or the model is national)."""
    key = f"channels[{channel}].geo_bounds"
    if not model.is_geo:
        raise MMMError(f"config key {key}: the model is national (no data.geo_column), so it has no regions to bound; drop the key")
    if geo not in model.observed.geos:
        raise MMMError(f"config key {key}: no region named '{geo}'; the data's regions are {', '.join(model.observed.geos)}")


def _region_limits(
    model: MarketingMixModel, channel: str, geo: str, limit: RegionBound, low: float, high: float, source: str
) -> tuple[float, float, str]:
    """The channel's weekly limits (low, high, where the cap came from) tightened by its limits in one region:
    a plan spreads the channel over the regions by their share of its recent spend (`geo_fit.geo_share_array`)."""
    check_region(model, channel, geo)
    share = float(geo_fit.geo_share_array(model).sel({GEO: geo, CHANNEL: channel}))
    if limit.max_weekly_spend is not None and share > 0 and limit.max_weekly_spend / share < high:
        high = limit.max_weekly_spend / share
        source = f"your cap in {geo}, which gets {share:.0%} of its spend"
    if limit.min_weekly_spend:
        if share == 0:
            raise MMMError(
                f"config key channels[{channel}].geo_bounds: '{geo}' got none of {channel}'s spend in the last periods, so a plan "
                "that keeps each region's share cannot give it a floor; drop its min_weekly_spend, or plan region by region "
                "(optimizer.geo_allocation: cells)"
            )
        low = max(low, limit.min_weekly_spend / share)
    return low, high, source


def at_bound(weekly: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> list[str | None]:
    """Per decision: 'max' or 'min' where its weekly spend sits at that bound (a minimum of 0 included), else None."""
    # within a cent a week: a channel left a few cents by the rounding is at its minimum of 0
    at_hi = weekly >= hi * (1 - BOUND_TOL) - CENT
    at_lo = weekly <= lo * (1 + BOUND_TOL) + CENT
    return ["max" if h else ("min" if low else None) for h, low in zip(at_hi, at_lo)]


def project(v: np.ndarray, total: float, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """The point clip(v + t, lo, hi) that sums to `total` (all at `lo` below sum(lo), all at `hi` above sum(hi)).

    The sum is piecewise linear and non-decreasing in the shift t, with knots where an entry reaches a
    bound (t = lo - v or hi - v); t is found exactly on the segment between the two knots around `total`.
    """
    knots = np.unique(np.concatenate([lo - v, hi - v]))
    sums = np.clip(v + knots[:, None], lo, hi).sum(axis=1)
    k = int(np.searchsorted(sums, total))  # sums[k - 1] < total <= sums[k]
    if k == 0 or k == len(knots):
        return np.clip(v + knots[min(k, len(knots) - 1)], lo, hi)
    t = knots[k - 1] + (total - sums[k - 1]) * (knots[k] - knots[k - 1]) / (sums[k] - sums[k - 1])
    return np.clip(v + t, lo, hi)


def split_cents(budget: float, shares: list[float]) -> list[float]:
    """The budget split by shares into whole cents that add up to the budget exactly
    (largest remainder: leftover cents go to the shares that lost most to rounding down)."""
    cents = round(budget * 100)
    raw = np.array(shares) * cents
    parts = np.floor(raw).astype(int)
    for i in np.argsort(-(raw - parts))[: cents - parts.sum()]:
        parts[i] += 1
    return [p / 100 for p in parts]


def round_to_cents(
    weekly: np.ndarray, weeks: int, groups: list[np.ndarray], group_totals: list[float], lo: np.ndarray, hi: np.ndarray
) -> np.ndarray:
    """Channel totals rounded to the cent with every group (tier) total, given in whole cents, met exactly."""
    totals = np.round(weekly * weeks, 2)
    for idx, target in zip(groups, group_totals):
        residual = round(target - totals[idx].sum(), 2)
        room = np.where(residual > 0, hi[idx] * weeks - totals[idx], totals[idx] - lo[idx] * weeks)
        j = idx[int(np.argmax(room))]  # the channel with most room absorbs the rounding cents
        totals[j] = round(totals[j] + residual, 2)
    return totals
