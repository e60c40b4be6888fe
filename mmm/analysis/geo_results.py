"""A geo model's results per geo: each geo's channels (contribution, ROAS, net ROI, marginal ROAS with
90% intervals) and how well the model fits it. The fit's top-level figures are the totals over geos."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

from mmm.core.constants import CHANNEL, CHANNEL_METRICS, CONVERSION_METRICS, COST_RATIO_METRICS, GEO, SAMPLE
from mmm.core.results import Interval, RatioInterval

if TYPE_CHECKING:
    from mmm.analysis.decomposition import ChannelDraws, FitQuality
    from mmm.model.estimator import MarketingMixModel


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="allow")


class GeoChannelResult(_Frozen):
    """One channel in one geo over the fitted periods: the channel's figures (see `ChannelResult`) on the geo's spend and outcome.

    cost is the channel's full cost in proportion to the geo's share of its spend."""

    spend: float
    cost: float
    roas: Interval | None = Field(default=None, description="Absent where the geo never bought the channel.")
    roi: Interval | None = None
    contribution: Interval
    contribution_share: Interval
    mroas: Interval | None = None
    cpa: RatioInterval | None = None
    marginal_cpa: RatioInterval | None = None
    cac: RatioInterval | None = None
    value_roas: Interval | None = None

    @model_serializer(mode="wrap")
    def _without_absent(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return {k: v for k, v in handler(self).items() if v is not None}


class GeoFitAccuracy(_Frozen):
    """R², MAPE (fraction) and NRMSE of the point prediction of one geo's outcome."""

    r2: float | None
    mape: float | None
    nrmse: float | None


class GeoResult(_Frozen):
    """One geo: its total outcome over the fitted periods, fit, share of it marketing drove and its channels."""

    target_total: float
    fit: GeoFitAccuracy
    marketing_share: Interval
    channels: dict[str, GeoChannelResult] = Field(description="Per channel, the same keys as the top-level channels (the totals).")


def geo_results(model: MarketingMixModel, draws: ChannelDraws, quality: FitQuality) -> dict[str, GeoResult]:
    """Per geo results from per-geo draws (sample, geo, channel) and the per-geo fit."""
    assert quality.by_geo is not None
    train = model.train
    totals = train.target.sum("date")
    metrics = CHANNEL_METRICS + (() if model.config.outcome.is_money else CONVERSION_METRICS)
    out = {}
    for g in train.geos:
        at = {GEO: g}
        channels = {}
        for ch in model.channels:
            sel = at | {CHANNEL: ch}
            figures = {m: _interval(getattr(draws, m), sel, m in COST_RATIO_METRICS) for m in metrics}
            channels[ch] = GeoChannelResult(spend=float(draws.spend.sel(sel)), cost=float(draws.cost.sel(sel)), **figures)
        target = float(totals.sel(at))
        out[g] = GeoResult(
            target_total=target,
            fit=GeoFitAccuracy(**quality.by_geo[g].model_dump()),
            marketing_share=Interval.of(draws.contribution.sel(at).sum(CHANNEL) / target, SAMPLE),
            channels=channels,
        )
    return out


def _interval(values: Any, sel: dict[str, str], cost_ratio: bool) -> Interval | None:
    """Mean and 90% interval of one geo and channel's draws; a geo that never bought the channel has no ROAS (None)."""
    if values is None:
        return None
    picked = values.sel(sel)
    if not np.all(np.isfinite(picked.values)):
        return None
    return (RatioInterval if cost_ratio else Interval).of(picked, SAMPLE)
