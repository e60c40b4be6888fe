"""Data checks per geo, run by `mmm validate` on data by region (more than one geo), next to the national ones.

Regional variation is what lets a geo model tell the channels apart beyond the national series, so
beside each geo's own weaknesses (few periods with sales, a channel that hardly runs there, channels
whose spend moves together within the geo) it checks whether the channels' split across geos
changes over time at all: a channel bought nationally and split by population never does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mmm.core.constants import CHANNEL, DATE, GEO
from mmm.core.review import Check, Review
from mmm.data.dataset import ModelData
from mmm.data.quality import CORRELATION_REVIEW, MIN_ACTIVE_SHARE, pairwise_correlations, review_data

MIN_SALES_SHARE = 0.5  # share of periods with a non-zero target below which a geo is reviewed
FIXED_SPLIT = 0.01  # variation of a channel's geo shares over time below which its split counts as fixed
_SHOWN = 5  # geos named before 'and N more'


def _listed(items: list[str]) -> str:
    return ", ".join(items[:_SHOWN]) + (f" and {len(items) - _SHOWN} more" if len(items) > _SHOWN else "")


@dataclass(frozen=True)
class GeoProfile:
    """One geo's data at a glance: periods, target total (currency or conversions) and its share of all geos,
    population (people, when given) and its share, and spend per channel over the data period (currency)."""

    geo: str
    periods: int
    target_total: float
    target_share: float
    population: float | None
    population_share: float | None
    spend: dict[str, float]

    def to_json(self) -> dict[str, object]:
        return {
            "periods": self.periods,
            "target_total": self.target_total,
            "target_share": self.target_share,
            "population": self.population,
            "population_share": self.population_share,
            "spend": self.spend,
        }


def geo_profiles(data: ModelData) -> list[GeoProfile]:
    """Each geo's profile, in the data's geo order."""
    totals = data.target.sum(DATE)
    spend = data.spend.sum(DATE)
    population = data.population
    return [
        GeoProfile(
            geo=geo,
            periods=data.n_periods,
            target_total=float(totals.sel({GEO: geo})),
            target_share=float(totals.sel({GEO: geo}) / totals.sum()),
            population=None if population is None else float(population.sel({GEO: geo})),
            population_share=None if population is None else float(population.sel({GEO: geo}) / population.sum()),
            spend={ch: float(spend.sel({GEO: geo, CHANNEL: ch})) for ch in data.channels},
        )
        for geo in data.geos
    ]


def _flagged(name: str, found: list[str], value: float, threshold: float, passed: str, problem: tuple[str, str]) -> Check:
    """REVIEW when anything was `found`: problem[0], what was found, ': ', problem[1]; else PASS saying `passed`."""
    message = f"{problem[0]} {_listed(found)}: {problem[1]}" if found else passed
    return Check(name=name, status="REVIEW" if found else "PASS", value=value, threshold=threshold, message=message)


def geo_sales(data: ModelData) -> Check:
    """The lowest share of periods in which a geo has a non-zero target."""
    shares = {g: float(v) for g, v in zip(data.geos, (data.target != 0).mean(DATE).transpose(GEO).values)}
    value = min(shares.values())
    return _flagged(
        "geo_sales",
        [f"'{g}' ({s:.0%})" for g, s in shares.items() if s < MIN_SALES_SHARE],
        value,
        MIN_SALES_SHARE,
        f"Every geo has a non-zero target in at least {value:.0%} of periods.",
        (
            "Few periods with a non-zero target in",
            "the model learns little about these geos on their own and leans on the "
            "others. Check the export for them, or merge small geos into a neighbour.",
        ),
    )


def geo_active_periods(data: ModelData) -> Check:
    """The lowest share of periods with spend of a channel in a geo."""
    active = (data.spend > 0).mean(DATE).transpose(CHANNEL, GEO).values
    low = float(active.min())
    return _flagged(
        "geo_active_periods",
        [
            f"'{ch}' in '{g}' ({active[i, j]:.0%})"
            for i, ch in enumerate(data.channels)
            for j, g in enumerate(data.geos)
            if active[i, j] < MIN_ACTIVE_SHARE
        ],
        low,
        MIN_ACTIVE_SHARE,
        f"Every channel has spend in every geo in at least {low:.0%} of periods.",
        (
            "Too few periods with spend for",
            "the channel's effect in that geo rests on the other geos. That is fine for a "
            "channel not sold there; otherwise check the export.",
        ),
    )


def geo_spend_correlation(data: ModelData) -> Check:
    """The strongest correlation between two channels' spend within one geo."""
    pairs = [
        (g, *p) for g in data.geos for p in pairwise_correlations(data.spend.sel({GEO: g}).transpose(DATE, CHANNEL).values, data.channels)
    ]
    top = max((abs(r) for *_, r in pairs), default=0.0)
    return _flagged(
        "geo_spend_correlation",
        [f"'{a}' and '{b}' in '{g}' ({r:.2f})" for g, a, b, r in pairs if abs(r) > CORRELATION_REVIEW],
        top,
        CORRELATION_REVIEW,
        f"Within each geo, no two channels' spend moves together (highest correlation {top:.2f}).",
        (
            "Spend moves together within a geo for",
            "the model will share credit between them there unreliably. Vary one "
            "of them in some geos (a geo test), or give one a ROAS prior.",
        ),
    )


def geo_split_variation(data: ModelData) -> Check:
    """How much each channel's split of spend across geos changes over time (the lowest, over channels).

    Per channel: the geo shares of each period with spend, their standard deviation over time relative to
    their mean, averaged over geos. 0 means the same split every period (e.g. bought nationally, split by population).
    """
    spend = data.spend.transpose(DATE, GEO, CHANNEL).values
    variation = []
    for i in range(spend.shape[2]):
        x = spend[:, :, i]
        x = x[x.sum(axis=1) > 0]
        shares = x / x.sum(axis=1, keepdims=True)
        mean = shares.mean(axis=0)
        variation.append(float(np.mean(np.divide(shares.std(axis=0), mean, out=np.zeros_like(mean), where=mean > 0))))
    fixed = [f"'{ch}'" for ch, v in zip(data.channels, variation) if v < FIXED_SPLIT]
    every = len(fixed) == len(data.channels)
    if not fixed:
        message = "Every channel's split of spend across geos changes over time: the geos help tell the channels apart."
    else:
        message = (
            f"{'Every channel' if every else _listed(fixed)} is split across geos in the same shares every "
            "period (bought nationally): the geos tell its effect apart only through their different sizes and responses. "
            + ("Vary spend by geo for some weeks, or run a geo test." if every else "A geo test on it would tell you more.")
        )
    return Check(
        name="geo_split_variation", status="REVIEW" if every else "PASS", value=min(variation), threshold=FIXED_SPLIT, message=message
    )


def geo_checks(data: ModelData) -> list[Check]:
    """The per-geo checks of data by region; none for national data (one geo)."""
    if len(data.geos) < 2:
        return []
    return [geo_sales(data), geo_active_periods(data), geo_spend_correlation(data), geo_split_variation(data)]


def review_all(data: ModelData, parameters: int, money: bool = True) -> Review:
    """Every data check `mmm validate` runs: the national ones (`review_data`, on totals over geos) and, for data by
    region, the per-geo ones, for a model with `parameters` free parameters; `money`: the target is money."""
    return Review.of([*review_data(data, parameters, money).checks, *geo_checks(data)])
