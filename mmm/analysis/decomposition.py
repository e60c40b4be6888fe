"""What each channel returned, from a fitted model's posterior, selected by dimension name.

Incremental contribution is the predicted outcome minus the predicted outcome with the
channel's spend set to zero; in this additive model that is exactly the channel's media
component. All figures cover the training periods and are in currency (ROAS: per unit spent).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from mmm.analysis.costs import cost_lines
from mmm.analysis.results import Accuracy, CarryOver, HoldoutAccuracy, PeriodsToShare
from mmm.analysis.value import value_draws
from mmm.core.constants import CHANNEL, DATE, GEO, LAG, SAMPLE
from mmm.core.stats import QUANTILES, accuracy, band_of
from mmm.model.estimator import MarketingMixModel

MROAS_STEP = 0.01  # marginal ROAS: response to 1% more spend in every period
CARRYOVER_SHARE = 0.90  # "how long the effect lasts": periods until this share of it has come in


@dataclass(frozen=True)
class ChannelDraws:
    """Posterior draws of every channel's returns over the training periods.

    spend and cost (full cost: spend and every cost line): (channel,) currency; cost_lines: per
    channel, label -> currency; the rest (sample, channel): contribution in the outcome's unit, its
    share of the total outcome, the outcome per unit of media spend (ROAS for revenue), net ROI (on
    full cost; for conversions on their value, absent without one) and the marginal outcome per unit.
    For a count outcome (conversions) also: cpa (full cost per incremental conversion), cac (media spend
    per incremental conversion), marginal_cpa (media spend per extra conversion at today's spend), and
    with a value per conversion `value` (money the conversions are worth) and value_roas (value / spend).
    """

    spend: xr.DataArray
    cost: xr.DataArray
    cost_lines: dict[str, dict[str, float]]
    contribution: xr.DataArray
    contribution_share: xr.DataArray
    roas: xr.DataArray
    roi: xr.DataArray | None
    mroas: xr.DataArray
    cpa: xr.DataArray | None = None
    cac: xr.DataArray | None = None
    marginal_cpa: xr.DataArray | None = None
    value: xr.DataArray | None = None
    value_roas: xr.DataArray | None = None


def channel_draws(model: MarketingMixModel, params: dict[str, np.ndarray] | None = None) -> ChannelDraws:
    """Contribution, share of the outcome, ROAS, net ROI and marginal ROAS per channel, as draws."""
    return channel_draws_by_geo(model, params, by_geo=False)[0]


def channel_draws_by_geo(
    model: MarketingMixModel, params: dict[str, np.ndarray] | None = None, by_geo: bool = True
) -> tuple[ChannelDraws, ChannelDraws | None]:
    """The channels' draws in total (as `channel_draws`) and, with `by_geo`, per geo: every figure
    (sample, geo, channel) over that geo's spend and outcome, from the same predictions.

    A geo's cost lines are the channel's in proportion to the geo's share of its spend."""
    train = model.train
    params = model.posterior_params() if params is None else params
    media = model.predict_components(train.spend, train.controls, params=params)["media"]
    bumped = model.predict_components(train.spend * (1 + MROAS_STEP), train.controls, params=params)["media"]
    spend = train.spend.sum([DATE, GEO])
    lines = cost_lines(model.config, {str(c): float(spend.sel({CHANNEL: c})) for c in spend[CHANNEL].values}, train.n_periods)
    cost = xr.DataArray([sum(lines[str(c)].values()) for c in spend[CHANNEL].values], dims=CHANNEL, coords={CHANNEL: spend[CHANNEL]})
    total = _draws(model, media, media.sum([DATE, GEO]), bumped.sum([DATE, GEO]), spend, cost, lines, float(train.target.sum()))
    if not by_geo:
        return total, None
    geo_spend = train.spend.sum(DATE)
    geo_cost = cost * (geo_spend / spend).where(spend > 0, 0.0)
    return total, _draws(model, media, media.sum(DATE), bumped.sum(DATE), geo_spend, geo_cost, lines, train.target.sum(DATE))


def _draws(
    model: MarketingMixModel,
    media: xr.DataArray,
    base: xr.DataArray,
    bumped: xr.DataArray,
    spend: xr.DataArray,
    cost: xr.DataArray,
    lines: dict[str, dict[str, float]],
    target: float | xr.DataArray,
) -> ChannelDraws:
    """Every figure from the incremental outcome summed over the periods, with and without 1% more spend."""
    train = model.train
    mroas = (bumped - base) / (MROAS_STEP * spend)
    if model.config.outcome.is_money:
        return ChannelDraws(spend, cost, lines, base, base / target, base / spend, (base - cost) / cost, mroas)
    if train.value is None:
        value = value_draws(model.config, train, base, base)
    elif model.is_geo:  # each geo's conversions at that geo's value
        value = value_draws(model.config, train, media, base)
        value = value if value is None or GEO in base.dims else value.sum(GEO)
    else:
        value = value_draws(model.config, train, media.sum(GEO), base)
    return ChannelDraws(
        spend=spend,
        cost=cost,
        cost_lines=lines,
        contribution=base,
        contribution_share=base / target,
        roas=base / spend,
        roi=None if value is None else (value - cost) / cost,
        mroas=mroas,
        cpa=cost / base,
        cac=spend / base,
        marginal_cpa=1 / mroas,
        value=value,
        value_roas=None if value is None else value / spend,
    )


@dataclass(frozen=True)
class FitQuality:
    """In-sample accuracy, holdout accuracy (when periods were held out), and the prediction band over time.

    predicted: (date,) posterior mean of the expected outcome; low/high: 90% posterior
    predictive band (noise included) over every period of the data.
    """

    in_sample: Accuracy
    holdout: HoldoutAccuracy | None
    predicted: xr.DataArray
    low: xr.DataArray
    high: xr.DataArray
    components: xr.Dataset
    by_geo: dict[str, Accuracy] | None = None  # a geo model's in-sample accuracy of each geo


def fit_quality(model: MarketingMixModel, params: dict[str, np.ndarray] | None = None, seed: int = 0) -> FitQuality:
    """Accuracy in and out of sample, and the 90% predictive band, from one set of draws."""
    data, n = model.observed, model.n_train
    params = model.posterior_params() if params is None else params
    comps = model.in_sample_components(params)
    mean = comps["mean"].sum(GEO)
    sims = model.sample_observations(comps["mean"], seed, params).sum(GEO)  # each geo's noise, then the total
    _, lo, hi = band_of(sims, SAMPLE)
    point = mean.mean(SAMPLE)  # the expected outcome, without noise
    actual = data.target.sum(GEO).values
    holdout = None
    if n < data.n_periods:
        inside = (actual[n:] >= lo.values[n:]) & (actual[n:] <= hi.values[n:])
        holdout = HoldoutAccuracy(
            **accuracy(actual[n:], point.values[n:]), coverage=float(np.mean(inside)), periods=int(data.n_periods - n)
        )
    by_geo = None
    counts = model.config.outcome.is_count
    if model.is_geo:
        geo_point = comps["mean"].mean(SAMPLE).isel({DATE: slice(0, n)})
        fitted = data.target.isel({DATE: slice(0, n)})
        by_geo = {g: Accuracy(**accuracy(fitted.sel({GEO: g}).values, geo_point.sel({GEO: g}).values, counts)) for g in data.geos}
    return FitQuality(Accuracy(**accuracy(actual[:n], point.values[:n], counts)), holdout, point, lo, hi, comps, by_geo)


def carryover(model: MarketingMixModel, params: dict[str, np.ndarray] | None = None) -> dict[str, CarryOver]:
    """Per channel: carry-over weight of each lag (mean and 90% band; they sum to one) and the
    periods until 90% of a period's effect has come in (median and 90% range, the spend period counted)."""
    params = model.posterior_params() if params is None else params
    w = xr.DataArray(model.media.weights(params, np), dims=(SAMPLE, LAG, CHANNEL), coords={CHANNEL: model.channels})
    reach = (w.cumsum(LAG) < CARRYOVER_SHARE - 1e-12).sum(LAG) + 1
    mean, lo, hi = band_of(w, SAMPLE)
    out = {}
    for ch in model.channels:
        q = np.quantile(reach.sel({CHANNEL: ch}).values, [0.5, *QUANTILES], method="nearest")
        out[ch] = CarryOver(
            weights=mean.sel({CHANNEL: ch}).values.tolist(),
            low=lo.sel({CHANNEL: ch}).values.tolist(),
            high=hi.sel({CHANNEL: ch}).values.tolist(),
            first_period_share=float(mean.sel({CHANNEL: ch}).isel({LAG: 0})),
            periods_to_90=PeriodsToShare(median=int(q[0]), low=int(q[1]), high=int(q[2])),
        )
    return out
