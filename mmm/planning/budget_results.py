"""Typed results of choosing the total budget (`mmm optimize --budget auto`): the budget response curve and profit.

Every amount is in currency over the plan's horizon (all its periods together). Profit is the
contribution margin times the incremental outcome minus the media spend that caused it, so a
profit band is the incremental band scaled by the margin and shifted by the (fixed) spend.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from mmm.core.results import Interval, Result, SeriesBand

BudgetMode = Literal["fixed", "profit", "target_mroas", "target_cpa"]


def profit_of(incremental: Interval, spend: float, margin: float) -> Interval:
    """Expected profit, mean and 90% interval: margin x incremental outcome - spend (currency).

    The spend is fixed and the margin positive, so the quantiles of the profit draws are those of
    the incremental draws under the same map: no draws are needed.
    """
    return Interval(mean=margin * incremental.mean - spend, low=margin * incremental.low - spend, high=margin * incremental.high - spend)


class BudgetCurve(Result):
    """What the best split of each total budget is expected to earn: the budget response curve.

    budgets: totals over the horizon (currency), ascending, with the current and the recommended
    budget among them; incremental: expected incremental outcome of the optimal allocation at each
    total, mean and 90% interval (one value per budget); profit: margin x incremental - budget
    (currency; absent without a margin); marginal_roas: extra outcome per extra unit of total budget
    at each total (the slope of the curve); marginal_cpa (conversions only): media spend per extra conversion
    at each total (currency per conversion, 1 / marginal_roas; null where an extra unit brings nothing);
    current_budget: what the last `weeks` periods spent; recommended_budget: the total chosen.
    """

    budgets: list[float]
    incremental: SeriesBand
    profit: SeriesBand | None = None
    marginal_roas: list[float]
    current_budget: float
    recommended_budget: float
    recommended_mroas: float = Field(description="Marginal ROAS of the total at the recommended budget.")
    marginal_cpa: list[float | None] | None = Field(
        default=None, description="Conversions only: currency per extra conversion at each total (1 / marginal_roas)."
    )
    recommended_marginal_cpa: float | None = Field(
        default=None, description="Conversions only: currency per extra conversion at the recommended budget."
    )

    @classmethod
    def optional_keys(cls) -> tuple[str, ...]:
        return ("profit", "marginal_cpa", "recommended_marginal_cpa")


def cost_per_extra(mroas: float) -> float | None:
    """Currency per extra conversion at a marginal outcome per unit of spend (None where more spend brings nothing)."""
    return 1 / mroas if mroas > 0 else None
