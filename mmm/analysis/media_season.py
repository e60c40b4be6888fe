"""How media effectiveness varies through the year (`model.media_seasonality: true`), month by month.

The model's multiplier scales every channel's effect in a period: 1.2 means each unit of
media works 20% better than in an average week of the year. Per month it is averaged over
the month's days; a month whose 90% interval holds 1 is not clearly different from average.
"""

from __future__ import annotations

import calendar
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from mmm.core.stats import Interval

if TYPE_CHECKING:
    from mmm.model.estimator import MarketingMixModel

CLEAR = 0.05  # a month's multiplier at least 5% from average counts as a difference worth naming


class MonthEffect(BaseModel):
    """One calendar month: media effectiveness against an average week of the year (mean and 90% interval)."""

    model_config = ConfigDict(frozen=True, extra="allow")

    month: int = Field(description="1 = January.")
    name: str
    multiplier: Interval = Field(description="1 = average; 1.2 = every channel's effect 20% above its yearly average.")


class MediaSeasonality(BaseModel):
    """Media effectiveness by calendar month, and the sentences that say it."""

    model_config = ConfigDict(frozen=True, extra="allow")

    months: list[MonthEffect]

    def strongest(self) -> MonthEffect:
        return max(self.months, key=lambda m: m.multiplier.mean)

    def weakest(self) -> MonthEffect:
        return min(self.months, key=lambda m: m.multiplier.mean)

    def sentences(self) -> list[str]:
        """What the months say, in plain words: the best and the worst month, and how sure the model is."""
        best, worst = self.strongest(), self.weakest()
        clear = [m for m in self.months if m.multiplier.low > 1 or m.multiplier.high < 1]
        if best.multiplier.mean - worst.multiplier.mean < CLEAR and not clear:
            return [
                "Media works about equally well all year: no month's effectiveness is clearly different from the average "
                f"(from {_change(worst.multiplier.mean)} in {worst.name} to {_change(best.multiplier.mean)} in {best.name})."
            ]
        out = [
            f"Media earns {_change(best.multiplier.mean)} in {best.name} than on average "
            f"(90% interval {_range(best.multiplier)}), and {_change(worst.multiplier.mean)} in {worst.name} "
            f"({_range(worst.multiplier)}). This applies to every channel's effect in that month."
        ]
        unclear = [m for m in self.months if m not in clear]
        if clear and len(unclear) < len(clear):
            rest = f"; only {_names(unclear)} may not differ" if unclear else ""
            out.append(f"Most months clearly differ from average{rest}.")
        elif clear:
            out.append(f"The months clearly different from average: {_names(clear)}; the others may not differ.")
        else:
            out.append("No single month is clearly different from average yet (every interval includes it): treat the pattern as a hint.")
        return out


def _change(multiplier: float) -> str:
    """1.2 -> '20% more', 0.85 -> '15% less', 1.0 -> 'the same'."""
    diff = round(100 * (multiplier - 1))
    return "the same" if diff == 0 else f"{abs(diff)}% {'more' if diff > 0 else 'less'}"


def _names(months: list[MonthEffect]) -> str:
    names = [m.name for m in months]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _range(interval: Interval) -> str:
    return f"{_change(interval.low)} to {_change(interval.high)}"


def media_seasonality(model: MarketingMixModel, params: dict[str, np.ndarray]) -> MediaSeasonality | None:
    """Media effectiveness per calendar month (over the days of the last fitted year); None when the model has none."""
    year = model.train.dates[-1].year
    days = pd.date_range(f"{year}-01-01", f"{year}-12-31", freq="D")
    draws = model.media_multiplier(days, params)  # (sample, day)
    if draws is None:
        return None
    months = [
        MonthEffect(month=k, name=calendar.month_name[k], multiplier=Interval.of(draws[:, np.asarray(days.month == k)].mean(axis=1)))
        for k in range(1, 13)
    ]
    return MediaSeasonality(months=months)
