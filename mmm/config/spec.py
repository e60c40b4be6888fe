"""The typed model spec, validated with pydantic and immutable once built.

`mmm.config.loading` reads it from YAML (errors name the key and its line) and applies
overrides through the same validation.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mmm.config.value import ValuePerConversion, check_value_channels
from mmm.core.constants import DEFAULT_POLICY, TIERS, Tier
from mmm.core.outcome import DEFAULT_KPI, OUTCOMES, Outcome, outcome_for
from mmm.transforms import ADSTOCKS, SATURATIONS


def _registered(kind: str, known: Iterable[str], value: str) -> str:
    """`value` when it is one of the registered names, else a ValueError listing them."""
    names = list(known)
    if value not in names:
        raise ValueError(f"unknown {kind} '{value}'; choose one of: {', '.join(names)}")
    return value


AUTO = "auto"  # adstock or saturation chosen from the data (mmm.model.selection)


def _default_first(known: Iterable[str], default: str) -> list[str]:
    return [default, *(k for k in known if k != default)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataSpec(_Strict):
    path: str = Field(description="CSV or Parquet file, relative to the config file.")
    date_column: str = "date"
    target_column: str = "revenue"
    frequency: Literal["auto", "weekly", "daily"] = "auto"
    kpi: str = Field(default=DEFAULT_KPI, description="What the target measures (revenue | conversions); sets the words and metric names.")
    value_per_conversion: ValuePerConversion | None = Field(
        default=None,
        description="Currency one conversion is worth (conversions KPI): a number, {column}, {per_channel} or {lifetime} (mmm.config.value).",
    )
    geo_column: str | None = Field(
        default=None,
        description="Column naming the region of each row (long format: one row per date and geo); absent: one national series.",
    )
    population_column: str | None = Field(
        default=None,
        description="Column holding each geo's population (the same on all its rows): splits nationally bought channels by it.",
    )

    @model_validator(mode="after")
    def _population_needs_geo(self) -> DataSpec:
        if self.population_column is not None and self.geo_column is None:
            raise ValueError("data.population_column applies to data by region: set data.geo_column too, or remove it")
        return self

    @field_validator("kpi")
    @classmethod
    def _known_kpi(cls, v: str) -> str:
        return _registered("KPI kind", OUTCOMES, v)


class RoasPrior(_Strict):
    """A belief about a channel's ROAS (incremental revenue per unit of spend), as mean and sd.

    It becomes a LogNormal with that mean and standard deviation, so ROAS stays positive.
    """

    mean: float = Field(gt=0)
    sd: float = Field(gt=0)

    def lognormal_params(self) -> tuple[float, float]:
        """(mu, sigma) of the LogNormal with this mean and standard deviation."""
        sigma2 = math.log1p((self.sd / self.mean) ** 2)
        return math.log(self.mean) - sigma2 / 2, math.sqrt(sigma2)


CostCategory = Literal["fee", "content", "tools", "personnel", "overhead", "other"]


class CostLine(_Strict):
    """One cost on top of media spend, counted in net ROI: a fee on spend, an amount every period, or one amount.

    Exactly one of `share_of_spend` (fraction of media spend, e.g. 0.15 for a 15% agency fee),
    `per_period` (currency every period: a tool subscription, staff time) and `amount` (currency
    over the data period: content production).
    """

    name: str
    category: CostCategory = "other"
    share_of_spend: float | None = Field(default=None, ge=0, description="Fraction of media spend (a percentage fee).")
    per_period: float | None = Field(default=None, ge=0, description="Currency every period.")
    amount: float | None = Field(default=None, ge=0, description="Currency over the data period.")

    @model_validator(mode="after")
    def _one_kind(self) -> CostLine:
        given = [k for k in ("share_of_spend", "per_period", "amount") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"cost line '{self.name}' needs exactly one of share_of_spend, per_period or amount (it has {len(given)})")
        return self

    def over(self, spend: float, periods: int) -> float:
        """Its cost in currency over `periods` periods with `spend` of media spend (currency)."""
        if self.share_of_spend is not None:
            return self.share_of_spend * spend
        if self.per_period is not None:
            return self.per_period * periods
        return float(self.amount or 0.0)


class RegionBound(_Strict):
    """Weekly spend limits of a channel in one region (data by geo), or of a channel (`ChannelSpec`), currency per period."""

    min_weekly_spend: float | None = Field(default=None, ge=0)
    max_weekly_spend: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        low, high = self.min_weekly_spend, self.max_weekly_spend
        if low is not None and high is not None and low > high:
            raise ValueError(f"min_weekly_spend {low:,.2f} is above max_weekly_spend {high:,.2f}; swap them or lower the minimum")
        return self


class ChannelSpec(RegionBound):
    name: str
    spend_column: str
    tier: Tier = "proven"
    roas_prior: RoasPrior | None = Field(
        default=None, description="Override the default ROAS prior, e.g. from a platform report or a past test."
    )
    fee_rate: float = Field(default=0.0, ge=0, description="Cost on top of spend as a fraction of it (agency fees).")
    extra_cost: float = Field(default=0.0, ge=0, description="Fixed cost over the data period (content production), currency.")
    costs: list[CostLine] = Field(default_factory=list, description="This channel's cost lines on top of its spend (net ROI counts them).")
    min_weekly_spend: float | None = Field(default=None, ge=0, description="Optimiser floor, currency per period.")
    max_weekly_spend: float | None = Field(default=None, ge=0, description="Optimiser cap, currency per period.")
    national: bool = Field(
        default=False,
        description="Bought nationally (data by geo): its column holds the national total per date, split to geos by population.",
    )
    geo_bounds: dict[str, RegionBound] = Field(
        default_factory=dict,
        description="Data by geo: optimiser limits in named regions, {region: {min_weekly_spend, max_weekly_spend}}; "
        "a plan holds each region's share of the channel, so they limit the channel's total.",
    )

    def cost_lines(self) -> list[CostLine]:
        """Every cost line of the channel: `fee_rate` and `extra_cost` (the short forms) first, then `costs`."""
        short = []
        if self.fee_rate:
            short.append(CostLine(name="fee", category="fee", share_of_spend=self.fee_rate))
        if self.extra_cost:
            short.append(CostLine(name="extra cost", category="content", amount=self.extra_cost))
        return short + list(self.costs)

    @field_validator("name")
    @classmethod
    def _name_is_identifier(cls, v: str) -> str:
        if not v or not all(ch.isalnum() or ch in "_-" for ch in v):
            raise ValueError("channel names may hold only letters, digits, '_' and '-'")
        return v


CHANGEPOINT_EVERY = 13  # periods per changepoint of the flexible trend (a quarter of weekly data)
MIN_CHANGEPOINTS = 2
MAX_CHANGEPOINTS = 12


class ModelSpec(_Strict):
    adstock: str = Field(
        default="geometric", description="Registered adstock name (mmm.transforms.ADSTOCKS), or 'auto': the best by PSIS-LOO."
    )
    l_max: int = Field(default=8, ge=1, le=52, description="Longest carry-over considered, in periods.")
    saturation: str = Field(
        default=AUTO, description="'auto' (the default: the best registered curve by PSIS-LOO) or a registered saturation name."
    )
    hill_slope: Literal["fixed", "free"] = Field(
        default="fixed", description="'fixed' keeps the Hill curve concave (slope 1); 'free' estimates the slope."
    )
    trend: Literal["linear", "flexible", "none"] = Field(
        default="linear",
        description="Baseline trend: 'linear', 'flexible' (piecewise-linear, changepoints placed automatically) or 'none'.",
    )
    seasonality_order: int = Field(default=2, ge=0, le=10, description="Yearly Fourier order; 0 switches it off.")
    weekday: bool = Field(
        default=True,
        description="Daily data: a day-of-week pattern in the baseline (6 more seasonal terms); weekly data have none.",
    )
    media_seasonality: bool = Field(
        default=False,
        description="Estimate how media effectiveness varies through the year: one yearly multiplier on every channel's effect.",
    )
    likelihood: Literal["normal", "student_t", "negative_binomial"] = Field(
        default="normal", description="Noise model; a conversions KPI defaults to negative_binomial (counts)."
    )
    marketing_share_prior: float = Field(
        default=0.2,
        gt=0,
        lt=1,
        description="Prior guess of the share of the target that all channels drive together; sets the default ROAS prior.",
    )
    roas_prior_sigma: float = Field(default=1.0, gt=0, le=3, description="Log-scale spread of the default ROAS prior.")

    @field_validator("trend", mode="before")
    @classmethod
    def _trend_from_bool(cls, v: object) -> object:
        # the old form `trend: true | false` stays valid: a linear trend or none
        if isinstance(v, bool):
            return "linear" if v else "none"
        return v

    @field_validator("adstock")
    @classmethod
    def _known_adstock(cls, v: str) -> str:
        return _registered("adstock", [*ADSTOCKS, AUTO], v)

    @field_validator("saturation")
    @classmethod
    def _known_saturation(cls, v: str) -> str:
        return _registered("saturation", [*SATURATIONS, AUTO], v)

    @property
    def is_auto(self) -> bool:
        """Whether the adstock or the saturation is to be chosen from the data."""
        return AUTO in (self.adstock, self.saturation)

    def candidates(self) -> list[tuple[str, str]]:
        """The (adstock, saturation) forms to compare: every registered form where the config says 'auto'.

        The default form comes first (the placeholder form of an unfitted `auto` model).
        """
        adstocks = _default_first(ADSTOCKS, "geometric") if self.adstock == AUTO else [self.adstock]
        saturations = _default_first(SATURATIONS, "hill") if self.saturation == AUTO else [self.saturation]
        return [(a, s) for a in adstocks for s in saturations]

    def forms(self) -> list[dict[str, object]]:
        """The transform options (`MediaTransform.from_options`) of each candidate form, in `candidates()` order."""
        return [{**self.model_dump(), "adstock": a, "saturation": s} for a, s in self.candidates()]

    def changepoints(self, periods: int) -> int:
        """Changepoints of the flexible trend fitted on `periods` periods (0 for the other trends).

        The rule: one per 13 periods (a quarter of weekly data), at least 2 and at most 12.
        """
        if self.trend != "flexible":
            return 0
        return min(max(periods // CHANGEPOINT_EVERY, MIN_CHANGEPOINTS), MAX_CHANGEPOINTS)

    def trend_parameters(self, periods: int) -> int:
        """Free parameters of the trend fitted on `periods` periods: the slope, plus one slope change per changepoint."""
        return int(self.trend != "none") + self.changepoints(periods)


def parse_policy(text: str) -> dict[str, float]:
    """'70/20/10' (or '0.7/0.2/0.1') -> {'proven': 0.7, 'test': 0.2, 'experimental': 0.1}."""
    parts = text.replace(" ", "").split("/")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise ValueError(f"policy '{text}' must be three numbers like 70/20/10") from None
    if len(values) != 3 or any(v < 0 for v in values):
        raise ValueError(f"policy '{text}' must be three non-negative numbers like 70/20/10 (proven/test/experimental)")
    total = sum(values)
    if not (abs(total - 100) < 1e-6 or abs(total - 1) < 1e-9):
        raise ValueError(f"policy '{text}' must add up to 100 (or 1), not {total:g}")
    return {tier: v / total for tier, v in zip(TIERS, values)}


class OptimizerSpec(_Strict):
    policy: str = Field(default=DEFAULT_POLICY, description="Budget shares of the proven/test/experimental tiers.")
    by_week: bool = Field(default=False, description="Plan spend per channel per week (moves spend into the weeks where media earns more).")
    geo_allocation: Literal["cells", "shares"] = Field(
        default="cells",
        description="Data by geo: cells plans each region's spend on each channel; shares plans channel totals, each region "
        "keeping its share of the channel's recent spend.",
    )

    @field_validator("policy")
    @classmethod
    def _valid_policy(cls, v: str) -> str:
        parse_policy(v)
        return v


class SamplerSpec(_Strict):
    draws: int | Literal["auto"] = Field(
        default="auto", description="Draws per chain, or 'auto': stop as soon as every parameter meets the R-hat and ESS targets."
    )
    max_draws: int = Field(default=4000, ge=100, description="Ceiling on draws per chain under draws: auto.")
    tune: int = Field(default=500, ge=10, description="Warm-up (adaptation) steps per chain, not kept.")
    chains: int = Field(default=4, ge=1, le=16)
    seed: int = 1
    backend: Literal["nutpie", "numba", "jax", "pymc"] = Field(
        default="nutpie",
        description=(
            "nutpie (the same as numba): nutpie's sampler on numba-compiled code; jax: nutpie's sampler on JAX-compiled code, "
            "on a GPU when JAX sees one (needs the optional extra: pip install 'mmm[jax]'); pymc: PyMC's own sampler."
        ),
    )
    target_accept: float = Field(default=0.9, gt=0.5, lt=1)
    progress: bool | None = Field(default=None, description="Progress bar; default: only on a terminal.")

    @field_validator("draws", mode="before")
    @classmethod
    def _draws_or_auto(cls, v: object) -> object:
        # one message for both forms, not one per branch of the union
        if v == "auto" or (isinstance(v, int) and not isinstance(v, bool) and v >= 10):
            return v
        raise ValueError(f"must be 'auto' or an integer number of draws, 10 or more, not {v!r}")


class Config(_Strict):
    data: DataSpec
    channels: list[ChannelSpec] = Field(min_length=1)
    controls: list[str] = Field(default_factory=list)
    currency: str = "USD"
    model: ModelSpec = Field(default_factory=ModelSpec)
    sampler: SamplerSpec = Field(default_factory=SamplerSpec)
    optimizer: OptimizerSpec = Field(default_factory=OptimizerSpec)
    calibration: str | None = Field(default=None, description="Lift-test results (CSV or YAML), relative to the config file.")
    costs: list[CostLine] = Field(
        default_factory=list,
        description="Costs of marketing as a whole (tools, staff, overhead), shared by the channels in proportion to spend.",
    )
    source: Path | None = Field(default=None, exclude=True, description="Where the config was read from.")

    @model_validator(mode="before")
    @classmethod
    def _count_likelihood(cls, raw: Any) -> Any:
        # a conversions KPI fits counts unless model.likelihood says otherwise
        if isinstance(raw, dict) and isinstance(raw.get("data"), dict) and raw["data"].get("kpi") == "conversions":
            model = raw.get("model", {})
            if isinstance(model, dict):
                raw = {**raw, "model": {"likelihood": "negative_binomial", **model}}
        return raw

    @model_validator(mode="after")
    def _unique_names(self) -> Config:
        names = [c.name for c in self.channels]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"channels: names must be unique; repeated: {', '.join(dupes)}")
        if self.model.likelihood == "negative_binomial" and not self.outcome.is_count:
            raise ValueError(f"model.likelihood negative_binomial fits counts; it needs data.kpi: conversions, not {self.data.kpi}")
        if self.data.value_per_conversion is not None and self.outcome.is_money:
            raise ValueError(
                f"data.value_per_conversion applies to data.kpi: conversions; the target here is {self.data.kpi} (already money): remove it"
            )
        check_value_channels(self.data.value_per_conversion, names)
        roles = [("a control", c) for c in self.controls] + [(f"channel {c.name}'s spend_column", c.spend_column) for c in self.channels]
        for role, column in roles:
            for what, own in (("data.target_column", self.data.target_column), ("data.date_column", self.data.date_column)):
                if column == own:
                    raise ValueError(f"{role} is column '{column}', which is the {what}: a column plays one part; name another")
        national = [c.name for c in self.channels if c.national]
        if national and self.data.geo_column is None:
            raise ValueError(
                f"channels {', '.join(national)} are marked national: true, which applies to data by region; set data.geo_column or remove it"
            )
        return self

    @property
    def channel_names(self) -> list[str]:
        return [c.name for c in self.channels]

    @property
    def outcome(self) -> Outcome:
        """The KPI's vocabulary: words, unit and metric names."""
        return outcome_for(self.data.kpi)

    @property
    def tiers(self) -> dict[str, str]:
        """channel -> tier, in config order."""
        return {c.name: c.tier for c in self.channels}

    def data_path(self) -> Path:
        """The data file, resolved against the config file's folder."""
        return self.relative_path(self.data.path)

    def relative_path(self, value: str) -> Path:
        """A path from the config, resolved against the config file's folder."""
        p = Path(value)
        if not p.is_absolute() and self.source is not None:
            p = self.source.parent / p
        return p

    def to_yaml(self) -> str:
        """The config as YAML, with every default spelled out (what the run really used)."""
        return yaml.safe_dump(self.model_dump(mode="json", exclude_none=True), sort_keys=False)
