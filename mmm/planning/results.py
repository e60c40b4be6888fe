"""Typed results of planning: a plan's forecast, a scenario and an optimisation.

Field names are the outcome-neutral quantities (`incremental`, `expected`); `to_dict()` / `to_json()` write
them under the outcome vocabulary's names (`incremental_revenue`, `expected_revenue`) and the
keys earlier versions wrote (`expected`, `roas_plan`, `prob_better`), all from the one field.
`from_json()` reads such a dict back.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from mmm.core.outcome import DEFAULT_KPI, Outcome, outcome_for
from mmm.core.results import Histogram, Interval, Result, SeriesBand
from mmm.core.review import ReviewVerdict
from mmm.planning.budget_results import BudgetCurve, BudgetMode
from mmm.planning.timing_results import SpendTiming
from mmm.planning.weekly_results import WeeklyPlan


def _outcome_keys(outcome: Outcome) -> dict[str, str]:
    """Field name -> JSON key under the outcome's vocabulary."""
    return {
        "incremental": outcome.incremental,
        "expected": outcome.expected,
        "current_incremental": f"current_{outcome.incremental}",
    }


class PlanForecast(Result):
    """What a spend plan is expected to bring, week by week and in total (currency unless the KPI says otherwise).

    incremental: outcome the plan's spend causes (with carry-in and carry-over), mean and 90%
    interval; expected: the whole outcome over the plan's periods, noise included; current_incremental:
    what the current mix at the same budget would cause; prob_better_than_current: P(plan > current mix).
    """

    outcome: str = DEFAULT_KPI
    dates: list[str]
    target: SeriesBand
    incremental: Interval
    incremental_by_channel: dict[str, Interval]
    spend: float
    spend_by_channel: dict[str, float]
    roas: Interval | None
    expected: Interval
    current_incremental: Interval | None
    prob_better_than_current: float | None
    geo_split: str | None = Field(default=None, description="A geo model's plan: how each channel's spend was split across the geos.")

    @classmethod
    def optional_keys(cls) -> tuple[str, ...]:
        return ("geo_split",)

    def to_dict(self) -> dict[str, Any]:
        raw = super().to_dict()
        for field, key in _outcome_keys(outcome_for(self.outcome)).items():
            raw[key] = raw.pop(field)
        return raw

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> PlanForecast:
        data = dict(raw)
        for field, key in _outcome_keys(outcome_for(data.get("outcome", DEFAULT_KPI))).items():
            if key in data:
                data[field] = data.pop(key)
        return cls.model_validate(data)


class ScenarioResult(PlanForecast):
    """A forecast for a plan file (`mmm scenario`)."""

    run_id: str | None = None
    name: str
    plan_file: str
    tracking_run_id: str | None = None
    review: ReviewVerdict | None = Field(default=None, description="The model's health review, and whether --force overrode a FAIL.")

    @classmethod
    def optional_keys(cls) -> tuple[str, ...]:
        return ("review",)


class Allocation(Result):
    """One channel's recommended spend (currency over the horizon and per period) against the current mix."""

    total: float
    weekly: float
    tier: str
    mroas: float = Field(description="Extra outcome per extra unit of total spend at the plan.")
    current_total: float
    current_weekly: float
    change: float
    change_pct: float | None
    min_weekly: float
    max_weekly: float
    bound: str | None


class CellAllocation(Result):
    """One region's spend on one channel in a plan (currency over the horizon and per period) against the current mix."""

    total: float
    weekly: float
    share: float = Field(description="The region's share of the channel's total.")
    mroas: float | None = Field(description="Extra outcome per extra unit of this region's spend on the channel; null when not a decision.")
    current_total: float
    change: float
    change_pct: float | None
    min_weekly: float | None
    max_weekly: float | None
    bound: str | None


class RegionPlan(Result):
    """A region's part of a plan: its total and its spend per channel."""

    total: float
    channels: dict[str, CellAllocation]


class TierOptimality(Result):
    """Within a tier, unbound channels should end with equal marginal ROAS."""

    unbound_channels: list[str]
    mroas_spread: float
    equal_mroas: bool


class PlanOutcomes(Result):
    """Distributions over posterior draws of the incremental outcome of both plans and their difference."""

    recommended: Histogram
    current: Histogram
    difference: Histogram


class OptimizationResult(Result):
    """The `mmm optimize` answer: tiers, allocation, and the forecast of the recommended plan."""

    run_id: str | None = None
    budget: float
    weeks: int
    risk: float
    allocation: dict[str, Allocation]
    tiers: dict[str, float]
    tier_totals: dict[str, float]
    forecast: PlanForecast
    uplift: Interval
    optimality: dict[str, TierOptimality]
    warnings: list[str] = Field(default_factory=list)
    solver: dict[str, Any] = Field(default_factory=dict)
    policy: dict[str, float] = Field(default_factory=dict)
    notes: list[str] = Field(default_factory=list)
    tier_reasons: dict[str, str] | None = None
    outcomes: PlanOutcomes | None = None
    weekly_plan: WeeklyPlan | None = Field(default=None, description="The recommended plan per week and channel, per month and in total.")
    tracking_run_id: str | None = None
    review: ReviewVerdict | None = Field(default=None, description="The model's health review, and whether --force overrode a FAIL.")
    budget_mode: BudgetMode = Field(default="fixed", description="fixed: the budget given; profit / target_mroas: the total chosen.")
    chosen_budget: float | None = Field(default=None, description="The total chosen under --budget auto (currency over the horizon).")
    margin: float | None = Field(default=None, description="Contribution margin: share of revenue left as profit before marketing.")
    target_mroas: float | None = Field(default=None, description="Marginal ROAS of the total the spend was to fall to.")
    target_cpa: float | None = Field(default=None, description="Marginal CPA of the total the spend was to rise to (conversions).")
    value_per_conversion: float | None = Field(default=None, description="Currency per conversion the profit counted (conversions).")
    expected_profit: Interval | None = Field(default=None, description="margin x incremental outcome - spend, currency.")
    budget_curve: BudgetCurve | None = None
    by_week: SpendTiming | None = Field(default=None, description="Under --by-week: spend per channel per week and why it moves.")
    geo_allocation: str | None = Field(
        default=None, description="Data by geo: cells (each region's spend per channel chosen) or shares (regions keep their shares)."
    )
    geos: dict[str, RegionPlan] | None = Field(default=None, description="Data by geo: the plan per region and channel.")

    @classmethod
    def optional_keys(cls) -> tuple[str, ...]:
        return (
            "tier_reasons",
            "review",
            "weekly_plan",
            "chosen_budget",
            "margin",
            "target_mroas",
            "target_cpa",
            "value_per_conversion",
            "expected_profit",
            "budget_curve",
            "by_week",
            "geo_allocation",
            "geos",
        )

    @property
    def prob_better(self) -> float:
        """Probability that the recommended plan earns more than the current mix at the same budget."""
        return float(self.forecast.prob_better_than_current or 0.0)

    @property
    def current(self) -> Interval:
        """Incremental outcome of the current mix at the same budget."""
        assert self.forecast.current_incremental is not None
        return self.forecast.current_incremental

    def to_dict(self) -> dict[str, Any]:
        raw = super().to_dict()
        raw.pop("forecast")
        forecast = self.forecast.to_dict()
        f = self.forecast
        raw.update({k: forecast[k] for k in forecast if k not in raw})
        raw["expected"] = {"recommended": f.incremental.model_dump(), "current": self.current.model_dump()}
        raw["roas"] = {
            "recommended": f.incremental.scaled(1 / self.budget).model_dump(),
            "current": self.current.scaled(1 / self.budget).model_dump(),
        }
        raw["roas_plan"] = forecast["roas"]
        raw["prob_better"] = self.prob_better
        return raw

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> OptimizationResult:
        data = {k: v for k, v in raw.items() if k not in ("expected", "roas", "roas_plan", "prob_better")}
        forecast_keys = set(PlanForecast.model_fields) | set(_outcome_keys(outcome_for(raw.get("outcome", DEFAULT_KPI))).values())
        forecast = {k: data.pop(k) for k in list(data) if k in forecast_keys and k not in cls.model_fields}
        forecast["roas"] = raw.get("roas_plan")
        data["forecast"] = PlanForecast.from_json(forecast)
        return cls.model_validate(data)
