"""Typed result of planning spend by week (`mmm optimize --by-week`): how the plan spreads over the weeks, and why."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from pydantic import Field

from mmm.core.results import Interval, Result


class SpendTiming(Result):
    """The plan's spend per channel per week of the horizon and why it moves (or stays flat).

    moves: whether spend differs between weeks; reason: why, in plain words; dates: the ISO
    date each week starts; spend: channel -> spend per week (currency, whole cents: the weekly
    plan's rows); effectiveness: how much media earns in each week against an average week of
    the year (mean and 90% interval; absent when the model has no media seasonality);
    gain_over_flat: extra incremental outcome of the plan over the same channel totals spent
    evenly (absent when the plan is flat).
    """

    moves: bool
    reason: str
    dates: list[str]
    spend: dict[str, list[float]]
    effectiveness: list[Interval] | None = Field(default=None, description="Media effectiveness per week, 1 = an average week.")
    gain_over_flat: Interval | None = Field(default=None, description="Extra outcome over spending the same totals evenly.")

    @classmethod
    def of(
        cls,
        moves: bool,
        reason: str,
        dates: pd.DatetimeIndex,
        spend: np.ndarray,
        channels: Sequence[str],
        effectiveness: list[Interval] | None,
        gain: Interval | None,
    ) -> SpendTiming:
        """From a plan (week, channel) in whole cents, in `channels` order."""
        return cls(
            moves=moves,
            reason=reason,
            dates=[str(d.date()) for d in dates],
            spend={ch: [round(float(v), 2) for v in spend[:, j]] for j, ch in enumerate(channels)},
            effectiveness=effectiveness,
            gain_over_flat=gain,
        )
