"""The typed result of a fit: the single source of every number the table, JSON, MLflow and report print.

`FitSummary.to_json()` is the dict `mmm fit --output-json` writes (README, `mmm fit`);
`FitSummary.model_validate(json)` reads one back.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from mmm.analysis.drift import FitChanges
from mmm.core.outcome import DEFAULT_KPI
from mmm.core.results import Histogram, Interval, Result, SeriesBand
from mmm.core.review import Review
from mmm.model.choice import ModelChoice
from mmm.model.diagnostics import Diagnostics


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="allow")


class Accuracy(_Frozen):
    """R², MAPE (fraction) and NRMSE (RMSE over the target's range) of the point prediction."""

    r2: float | None
    mape: float | None
    nrmse: float | None


class HoldoutAccuracy(Accuracy):
    """Accuracy on the held-out last periods, with the share of them inside the 90% predictive band."""

    coverage: float
    periods: int


class DataPeriod(_Frozen):
    """What was fitted: file, frequency, first and last fitted date, periods, total outcome (currency)."""

    source: str
    frequency: str
    first_date: str
    last_date: str
    periods: int
    target_total: float


class PeriodsToShare(_Frozen):
    median: int
    low: int
    high: int


class CarryOver(_Frozen):
    """Carry-over weight per lag (mean and 90% band; they sum to one) and periods until 90% of the effect is in."""

    weights: list[float]
    low: list[float]
    high: list[float]
    first_period_share: float
    periods_to_90: PeriodsToShare


class ResponseCurve(_Frozen):
    """Long-run outcome per period of spending `spend` every period (mean and 90% band), currency."""

    spend: list[float]
    mean: list[float]
    low: list[float]
    high: list[float]
    observed_max: float = Field(description="Highest spend seen in a single period: the curve is extrapolated beyond.")


class RoasEvidence(_Frozen):
    """The ROAS prior (LogNormal mu, sigma) and the posterior's histogram, to show what the data taught."""

    prior_mu: float
    prior_sigma: float
    posterior: Histogram


class ChannelResult(_Frozen):
    """One channel over the fitted periods: media spend and full cost (currency) and its returns, each mean and 90% interval.

    ROAS is on media spend; net ROI is on the full cost (spend and every cost line in `cost_lines`).
    """

    tier: str
    spend: float
    cost: float
    cost_lines: dict[str, float] = Field(default_factory=dict, description="What `cost` counts: label -> currency, media spend first.")
    roas: Interval
    roi: Interval
    contribution: Interval
    contribution_share: Interval
    mroas: Interval
    carryover: CarryOver
    response: ResponseCurve | None = None
    roas_evidence: RoasEvidence | None = None


class SamplingCost(_Frozen):
    """What the fit cost: seconds compiling and sampling, draws kept per chain, and effective draws per second."""

    compile_seconds: float | None
    sample_seconds: float | None
    chains: int
    draws_per_chain: int
    ess_per_second: float | None


class Timeline(_Frozen):
    """Per period of the data (training and holdout): actual outcome, prediction and its parts (means)."""

    dates: list[str]
    fitted_periods: int
    actual: list[float]
    predicted: SeriesBand
    baseline: list[float]
    trend: list[float]
    seasonality: list[float]
    controls: list[float]
    media: dict[str, list[float]]


class FitSummary(Result):
    """Diagnostics, fit quality and per-channel returns of a fitted model."""

    run_id: str | None = None
    fit_seconds: float
    currency: str
    outcome: str = DEFAULT_KPI
    diagnostics: Diagnostics
    fit: Accuracy
    data: DataPeriod
    channels: dict[str, ChannelResult]
    warnings: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    holdout: HoldoutAccuracy | None = None
    marketing_share: Interval
    calibration: list[dict[str, Any]] | None = None
    timeline: Timeline | None = None
    sampling: SamplingCost | None = None
    control_names: list[str] = Field(default_factory=list)
    model_settings: dict[str, Any] = Field(default_factory=dict)
    review: Review | None = Field(default=None, description="The health review: absent only in summaries written before it existed.")
    model_choice: ModelChoice | None = Field(default=None, description="The candidate forms compared, under adstock or saturation 'auto'.")
    changes: FitChanges | None = Field(default=None, description="A refit's changes against the fit it refreshes (`mmm refit`).")

    @classmethod
    def optional_keys(cls) -> tuple[str, ...]:
        return ("holdout", "calibration", "timeline", "sampling", "review", "changes")

    def by_roas(self) -> list[tuple[str, ChannelResult]]:
        """Channels, best mean ROAS first."""
        return sorted(self.channels.items(), key=lambda kv: -kv[1].roas.mean)
