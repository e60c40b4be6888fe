"""A plan laid out per period and channel, per month and in total, from its forecast's posterior draws.

The rounding rule: the plan's total spend is rounded to the cent and split over the channels,
then each channel's total over its periods, both by largest remainder (`split_cents`: whole
cents, leftover cents to the parts that lost most to rounding down). So every period's spend is
whole cents and the rows add up to the total exactly; an optimised plan's channel totals are
its allocation's totals, already whole cents.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mmm.core.constants import CHANNEL, DATE
from mmm.core.outcome import DEFAULT_KPI
from mmm.core.stats import Interval
from mmm.planning.bounds import split_cents
from mmm.planning.forecast import PlanDraws
from mmm.planning.weekly_results import ChannelLine, MonthLine, PlanLine, WeekLine, WeeklyPlan


def _split(total: float, weights: np.ndarray) -> np.ndarray:
    """`total` (currency, whole cents) split in proportion to weights into whole cents; zeros when the weights are."""
    weight = float(weights.sum())
    if weight <= 0:
        return np.zeros(len(weights))
    return np.array(split_cents(total, list(weights / weight)))


def spend_in_cents(spend: np.ndarray) -> np.ndarray:
    """(period, channel) spend in currency rounded to whole cents, adding up to its total rounded to the cent exactly."""
    spend = np.asarray(spend, dtype=float)
    by_channel = _split(round(float(spend.sum()), 2), spend.sum(axis=0))
    return np.column_stack([_split(float(total), column) for total, column in zip(by_channel, spend.T)])


def weekly_plan(spend: np.ndarray, draws: PlanDraws, tiers: dict[str, str], outcome: str = DEFAULT_KPI, period: str = "week") -> WeeklyPlan:
    """The plan per period and channel with the incremental outcome landing in each (see `mmm.planning.weekly_results`).

    spend: (period, channel) in currency, the plan's periods in the order and channels of
    `draws.by_week` (the forecast's draws of the same plan); tiers: channel -> tier; period: the data's period in words.
    Months group the periods by the month they start in.
    """
    by_week = draws.by_week  # (sample, date, channel), the plan's periods then its carry-over periods
    channels = [str(c) for c in by_week[CHANNEL].values]
    dates = pd.DatetimeIndex(by_week[DATE].values)
    values = by_week.values
    cents = np.zeros((len(dates), len(channels)))
    cents[: len(spend)] = spend_in_cents(spend)

    def figures(when: np.ndarray | slice, which: int | slice) -> dict[str, Any]:
        """Spend (whole cents) and the incremental outcome's interval over some periods and channels."""
        part = values[:, when, which].reshape(len(values), -1)
        return {"spend": round(float(cents[when, which].sum()), 2), "incremental": Interval.of(part.sum(axis=1))}

    rows = [
        WeekLine(**figures(slice(t, t + 1), j), date=str(day.date()), week=t + 1, after_plan=t >= len(spend), channel=ch, tier=tiers[ch])
        for t, day in enumerate(dates)
        for j, ch in enumerate(channels)
    ]
    month_of = dates.strftime("%Y-%m")
    months = []
    for month in dict.fromkeys(month_of):
        periods = np.asarray(month_of == month)
        months.append(MonthLine(**figures(periods, slice(None)), month=month))
        months += [MonthLine(**figures(periods, j), month=month, channel=ch, tier=tiers[ch]) for j, ch in enumerate(channels)]
    return WeeklyPlan(
        outcome=outcome,
        weeks=len(spend),
        period=period,
        budget=round(float(cents.sum()), 2),
        rows=rows,
        months=months,
        channels=[ChannelLine(**figures(slice(None), j), channel=ch, tier=tiers[ch]) for j, ch in enumerate(channels)],
        total=PlanLine(**figures(slice(None), slice(None))),
    )
