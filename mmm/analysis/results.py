"""The typed result of a fit: the single source of every number the table, JSON, MLflow and report print.

`FitSummary.to_json()` is the dict `mmm fit --output-json` writes (README, `mmm fit`);
`FitSummary.model_validate(json)` reads one back.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer, model_validator

from mmm.analysis.drift import FitChanges
from mmm.analysis.geo_results import GeoResult
from mmm.analysis.media_season import MediaSeasonality
from mmm.analysis.value import ConversionValue
from mmm.core.outcome import DEFAULT_KPI, outcome_for
from mmm.core.results import Histogram, Interval, RatioInterval, Result, SeriesBand
from mmm.core.review import Review
from mmm.model.choice import ModelChoice
from mmm.model.diagnostics import Diagnostics


def _renamed(channel: Any, keys: dict[str, str]) -> Any:
    """A channel's figures with keys renamed at once (old -> new), so two names can swap."""
    if not isinstance(channel, dict):
        return channel
    return {keys.get(k, k): v for k, v in channel.items()}


def _geo_renamed(block: Any, keys: dict[str, str]) -> Any:
    """A geo's block with its channels' figures renamed (see `_renamed`)."""
    if not isinstance(block, dict) or not isinstance(block.get("channels"), dict):
        return block
    return {**block, "channels": {n: _renamed(c, keys) for n, c in block["channels"].items()}}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="allow")


class Accuracy(_Frozen):
    """R², MAPE (fraction) and NRMSE (RMSE over the target's range) of the point prediction; for an outcome
    that counts events, `r2_attainable`: the most R² any model can reach, the rest being the chance in counting."""

    r2: float | None
    mape: float | None
    nrmse: float | None
    r2_attainable: float | None = None

    @model_serializer(mode="wrap")
    def _attainable_for_counts(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # left out for money outcomes, not null: every other figure of a fit is a number
        out = handler(self)
        if self.r2_attainable is None:
            out.pop("r2_attainable", None)
        return out


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

    roas: the outcome per unit of media spend (ROAS for revenue; conversions per 1 spent for conversions);
    net ROI is on the full cost (spend and every cost line in `cost_lines`), for conversions on their
    value (absent without a value per conversion). Conversions add cpa (full cost per incremental
    conversion), cac (media spend alone per incremental conversion), marginal_cpa (media spend per
    extra conversion at today's spend) and, with a value, value_roas (money ROAS) and value_per_conversion.
    """

    tier: str
    spend: float
    cost: float
    cost_lines: dict[str, float] = Field(default_factory=dict, description="What `cost` counts: label -> currency, media spend first.")
    roas: Interval
    roi: Interval | None
    contribution: Interval
    contribution_share: Interval
    mroas: Interval
    carryover: CarryOver
    response: ResponseCurve | None = None
    roas_evidence: RoasEvidence | None = None
    cpa: RatioInterval | None = Field(default=None, description="Full cost per incremental conversion (currency); median is the headline.")
    marginal_cpa: RatioInterval | None = Field(
        default=None, description="Media spend per extra conversion at today's spend (currency); median is the headline."
    )
    cac: RatioInterval | None = Field(
        default=None, description="Media spend alone per incremental conversion (currency); median is the headline."
    )
    value_roas: Interval | None = Field(default=None, description="Value of the incremental conversions per unit of media spend.")
    value_per_conversion: float | None = Field(default=None, description="Currency per conversion used for value_roas and roi.")

    @model_serializer(mode="wrap")
    def _without_absent(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # figures that do not apply to the KPI (CPA for revenue, ROI without a value) are left out, not null
        return {k: v for k, v in handler(self).items() if v is not None or k in ("response", "roas_evidence")}


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
    value_per_conversion: ConversionValue | None = Field(default=None, description="The value of a conversion ROAS and ROI used.")
    media_seasonality: MediaSeasonality | None = Field(
        default=None, description="Under model.media_seasonality: how media effectiveness varies by calendar month."
    )
    geos: dict[str, GeoResult] | None = Field(
        default=None, description="A geo model's results per geo (the top-level channels are the totals over geos)."
    )

    @classmethod
    def optional_keys(cls) -> tuple[str, ...]:
        return ("holdout", "calibration", "timeline", "sampling", "review", "changes", "value_per_conversion", "media_seasonality", "geos")

    @model_validator(mode="before")
    @classmethod
    def _channel_keys_in(cls, raw: Any) -> Any:
        # the JSON names per-channel figures in the KPI's words (conversions_per_spend); the fields are neutral
        if isinstance(raw, dict) and isinstance(raw.get("channels"), dict):
            keys = {v: k for k, v in outcome_for(raw.get("outcome", DEFAULT_KPI)).channel_keys.items()}
            raw = {**raw, "channels": {n: _renamed(c, keys) for n, c in raw["channels"].items()}}
            if isinstance(raw.get("geos"), dict):
                raw["geos"] = {g: _geo_renamed(b, keys) for g, b in raw["geos"].items()}
        return raw

    @model_serializer(mode="wrap")
    def _channel_keys_out(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        out = handler(self)
        keys = outcome_for(self.outcome).channel_keys
        if keys and isinstance(out.get("channels"), dict):
            out["channels"] = {n: _renamed(c, keys) for n, c in out["channels"].items()}
            if isinstance(out.get("geos"), dict):
                out["geos"] = {g: _geo_renamed(b, keys) for g, b in out["geos"].items()}
        return out

    def by_roas(self) -> list[tuple[str, ChannelResult]]:
        """Channels, best mean ROAS first."""
        return sorted(self.channels.items(), key=lambda kv: -kv[1].roas.mean)

    def by_cpa(self) -> list[tuple[str, ChannelResult]]:
        """Channels, cheapest conversions first (lowest median CPA; channels without a CPA last)."""
        return sorted(self.channels.items(), key=lambda kv: kv[1].cpa.median if kv[1].cpa is not None else float("inf"))
