"""Typed result of a plan laid out week by week and channel: what a spreadsheet or the report's monthly table shows.

Spend is in currency, in whole cents, and adds up to the plan's total exactly (see
`mmm.planning.weekly.spend_in_cents`). The incremental outcome of a period and channel is
the channel's media contribution in that period with the plan minus without it (no spend over
the plan's periods): with carry-over, part of a period's figure comes from the spend of earlier
periods, and the periods after the plan (no spend) hold the rest. Summed over every row it is
the plan's incremental outcome (`PlanForecast.incremental`).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from mmm.core.outcome import DEFAULT_KPI
from mmm.core.results import Interval, Result


class PlanLine(BaseModel):
    """Spend over some periods of a plan and the incremental outcome landing in them.

    spend: currency, whole cents; incremental: posterior mean and 90% interval of the outcome
    the plan's spend causes in those periods (currency for revenue).
    """

    model_config = ConfigDict(frozen=True)

    spend: float
    incremental: Interval


class WeekLine(PlanLine):
    """One period (a week of weekly data) and one channel."""

    date: str = Field(description="ISO date the period starts.")
    week: int = Field(description="1 is the plan's first period; numbers past the plan's length are the carry-over periods after it.")
    after_plan: bool = Field(description="A period after the plan: no spend, only carry-over of the plan's spend.")
    channel: str
    tier: str


class MonthLine(PlanLine):
    """The periods that start in one calendar month, for one channel or (channel None) all of them."""

    month: str = Field(description="'YYYY-MM'.")
    channel: str | None = None
    tier: str | None = None


class ChannelLine(PlanLine):
    """One channel over the whole plan, carry-over after it included."""

    channel: str
    tier: str


class WeeklyPlan(Result):
    """A plan per period and channel, per month, per channel and in total.

    weeks: the plan's length in periods; budget: its total spend (currency, whole cents), which
    the spend of `rows`, of `months` (channel lines), of `channels` and `total` each add up to
    exactly. rows run period by period, each period's channels in the model's order; months run
    month by month, each month's all-channels line (channel None) first.
    """

    outcome: str = DEFAULT_KPI
    weeks: int
    period: str = "week"  # the data's period in words (week, day): what a row and `weeks` count
    budget: float
    rows: list[WeekLine]
    months: list[MonthLine]
    channels: list[ChannelLine]
    total: PlanLine
