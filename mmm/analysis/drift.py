"""How a refit's channel returns moved against the previous fit, and which moves are news.

A move is news when the refit's mean ROAS falls outside the previous fit's 90% interval: the
previous fit held such a value unlikely, so the new periods told the model something the
earlier ones did not (a changed channel, a tracking change, or a model that no longer fits).
A move inside the interval is what more data does to any estimate.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from mmm.core.stats import Interval

if TYPE_CHECKING:
    from mmm.analysis.results import FitSummary
    from mmm.data.refresh import Refresh


class RoasChange(BaseModel):
    """One channel's ROAS (outcome per unit of spend) in the previous fit and in the refit, and how it moved."""

    model_config = ConfigDict(frozen=True, extra="allow")

    previous: Interval = Field(description="ROAS of the previous fit: mean and 90% interval.")
    current: Interval = Field(description="ROAS of the refit (earlier and new periods): mean and 90% interval.")
    change: float = Field(description="current mean - previous mean.")
    relative_change: float | None = Field(description="change / previous mean; None when the previous mean is 0.")
    inside_previous_interval: bool = Field(description="Whether the refit's mean lies inside the previous 90% interval.")

    @property
    def direction(self) -> str:
        """'rose', 'fell' or 'held' (the mean did not move)."""
        return "rose" if self.change > 0 else "fell" if self.change < 0 else "held"


class FitChanges(BaseModel):
    """What a refit changed: the periods it added and, per channel, how ROAS moved against the previous fit."""

    model_config = ConfigDict(frozen=True, extra="allow")

    previous_run_id: str | None = Field(description="MLflow run of the previous fit.")
    previous_first_date: str
    previous_last_date: str = Field(description="Last period the previous fit was fitted on.")
    added_periods: int = Field(description="Periods after the previous fit's data.")
    first_added: str
    last_added: str
    channels: dict[str, RoasChange]

    def moved_outside(self) -> list[str]:
        """Channels whose ROAS left the previous 90% interval, the largest relative move first."""
        out = [name for name, c in self.channels.items() if not c.inside_previous_interval]
        return sorted(out, key=lambda name: -abs(self.channels[name].relative_change or 0.0))


def roas_change(previous: Interval, current: Interval) -> RoasChange:
    """How a ROAS moved from one fit to the next, and whether the new mean is inside the old interval."""
    change = current.mean - previous.mean
    return RoasChange(
        previous=previous,
        current=current,
        change=change,
        relative_change=change / previous.mean if previous.mean else None,
        inside_previous_interval=previous.low <= current.mean <= previous.high,
    )


def compare_fits(previous: FitSummary, current: FitSummary, refresh: Refresh) -> FitChanges:
    """What changed from `previous` to `current`, its refit on the refreshed data."""
    return FitChanges(
        previous_run_id=previous.run_id,
        previous_first_date=previous.data.first_date,
        previous_last_date=previous.data.last_date,
        added_periods=refresh.added,
        first_added=refresh.first_added,
        last_added=refresh.last_added,
        channels={name: roas_change(previous.channels[name].roas, c.roas) for name, c in current.channels.items()},
    )
