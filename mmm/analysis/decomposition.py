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
from mmm.core.constants import CHANNEL, DATE, GEO, LAG, SAMPLE
from mmm.core.stats import QUANTILES, accuracy, band_of
from mmm.model.estimator import MarketingMixModel

MROAS_STEP = 0.01  # marginal ROAS: response to 1% more spend in every period
CARRYOVER_SHARE = 0.90  # "how long the effect lasts": periods until this share of it has come in


@dataclass(frozen=True)
class ChannelDraws:
    """Posterior draws of every channel's returns over the training periods.

    spend and cost (full cost: spend and every cost line): (channel,) currency; cost_lines: per
    channel, label -> currency; the rest (sample, channel): contribution in currency, its share of
    the total outcome, ROAS (on media spend), net ROI (on full cost) and marginal ROAS.
    """

    spend: xr.DataArray
    cost: xr.DataArray
    cost_lines: dict[str, dict[str, float]]
    contribution: xr.DataArray
    contribution_share: xr.DataArray
    roas: xr.DataArray
    roi: xr.DataArray
    mroas: xr.DataArray


def channel_draws(model: MarketingMixModel, params: dict[str, np.ndarray] | None = None) -> ChannelDraws:
    """Contribution, share of the outcome, ROAS, net ROI and marginal ROAS per channel, as draws."""
    train = model.train
    params = model.posterior_params() if params is None else params
    base = model.predict_components(train.spend, train.controls, params=params)["media"].sum([DATE, GEO])
    bumped = model.predict_components(train.spend * (1 + MROAS_STEP), train.controls, params=params)["media"].sum([DATE, GEO])
    spend = train.spend.sum([DATE, GEO])
    lines = cost_lines(model.config, {str(c): float(spend.sel({CHANNEL: c})) for c in spend[CHANNEL].values}, train.n_periods)
    cost = xr.DataArray([sum(lines[str(c)].values()) for c in spend[CHANNEL].values], dims=CHANNEL, coords={CHANNEL: spend[CHANNEL]})
    return ChannelDraws(
        spend=spend,
        cost=cost,
        cost_lines=lines,
        contribution=base,
        contribution_share=base / float(train.target.sum()),
        roas=base / spend,
        roi=(base - cost) / cost,
        mroas=(bumped - base) / (MROAS_STEP * spend),
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


def fit_quality(model: MarketingMixModel, params: dict[str, np.ndarray] | None = None, seed: int = 0) -> FitQuality:
    """Accuracy in and out of sample, and the 90% predictive band, from one set of draws."""
    data, n = model.observed, model.n_train
    params = model.posterior_params() if params is None else params
    comps = model.in_sample_components(params)
    mean = comps["mean"].sum(GEO)
    sims = model.sample_observations(mean, seed, params)
    _, lo, hi = band_of(sims, SAMPLE)
    point = mean.mean(SAMPLE)  # the expected outcome, without noise
    actual = data.target.sum(GEO).values
    holdout = None
    if n < data.n_periods:
        inside = (actual[n:] >= lo.values[n:]) & (actual[n:] <= hi.values[n:])
        holdout = HoldoutAccuracy(
            **accuracy(actual[n:], point.values[n:]), coverage=float(np.mean(inside)), periods=int(data.n_periods - n)
        )
    return FitQuality(Accuracy(**accuracy(actual[:n], point.values[:n])), holdout, point, lo, hi, comps)


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
