"""What a future spend plan is expected to earn, from a fitted model's posterior.

A plan's incremental outcome is the outcome with the plan minus the outcome with no spend
over the plan's periods, all else equal: it counts carry-in from the last periods of history
(which moves each channel along its saturation curve) and the carry-over after the plan ends.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from mmm.core.constants import CHANNEL, CONTROL, DATE, GEO, SAMPLE
from mmm.core.errors import MMMError
from mmm.core.results import SeriesBand
from mmm.core.stats import Interval, band_of
from mmm.data.dataset import PERIOD_DAYS
from mmm.model import geo_fit
from mmm.model.cells import share_note
from mmm.model.estimator import MarketingMixModel
from mmm.planning.results import PlanForecast

REGION_NOTE = "The plan sets each region's spend on each channel (see geos); the current mix keeps each region's recent share."


def thin(params: dict[str, np.ndarray], n_draws: int | None, seed: int) -> dict[str, np.ndarray]:
    """A random subset of n_draws posterior draws (all when n_draws is None or larger)."""
    total = next(iter(params.values())).shape[0]
    if n_draws is None or n_draws >= total:
        return params
    idx = np.sort(np.random.default_rng(seed).choice(total, n_draws, replace=False))
    return {k: v[idx] for k, v in params.items()}


@dataclass(frozen=True)
class Horizon:
    """The periods right after the data: dates, spend history for carry-in, controls (date, control)."""

    dates: pd.DatetimeIndex
    history: xr.DataArray  # (date, channel) spend of the last l_max - 1 periods, currency; (date, geo, channel) in a geo model
    controls: xr.DataArray  # (date, control): given, or held at their mean over the last `periods` periods

    @classmethod
    def after(cls, model: MarketingMixModel, periods: int, controls: np.ndarray | None = None) -> Horizon:
        d = model.observed
        step = pd.Timedelta(days=PERIOD_DAYS[d.frequency])
        dates = pd.DatetimeIndex([d.dates[-1] + step * (i + 1) for i in range(periods)])
        if controls is None:
            recent = d.control_matrix()[-min(periods, d.n_periods) :].mean(axis=0)
            controls = np.tile(recent, (periods, 1))
        ctrl = xr.DataArray(
            np.asarray(controls, dtype=float).reshape(periods, -1),
            dims=(DATE, CONTROL),
            coords={DATE: dates.values, CONTROL: d.control_names},
        )
        keep = model.media.l_max - 1
        recent = {DATE: slice(d.n_periods - keep, None) if keep else slice(0, 0)}
        history = d.spend.isel(recent) if model.is_geo else d.spend.sum(GEO).isel(recent)
        return cls(dates, history, ctrl)

    def with_tail(self, model: MarketingMixModel) -> tuple[pd.DatetimeIndex, xr.DataArray]:
        """Dates and controls extended by l_max - 1 periods, so carry-over after the plan counts."""
        tail = model.media.l_max - 1
        step = pd.Timedelta(days=PERIOD_DAYS[model.observed.frequency])
        extra = pd.DatetimeIndex([self.dates[-1] + step * (i + 1) for i in range(tail)])
        dates = self.dates.append(extra)
        return dates, self.controls.reindex({DATE: dates.values}, method="ffill")


def current_plan(model: MarketingMixModel, budget: float, weeks: int) -> xr.DataArray:
    """Weekly spend per channel (channel,) of the last `weeks` periods, scaled to the budget: the plan to beat."""
    recent = model.observed.tail(weeks).spend.sum([DATE, GEO])
    if float(recent.sum()) <= 0:
        raise MMMError(f"there was no spend in the last {weeks} periods, so there is no current plan to compare with")
    return recent / recent.sum() * budget / weeks


@dataclass(frozen=True)
class PlanDraws:
    """Posterior draws (sample,) of a plan's incremental outcome and of the current mix's at the same budget.

    by_week: (sample, date, channel) the incremental outcome landing in each period, in currency:
    the channel's media contribution with the plan minus without it, over the plan's periods and
    the l_max - 1 periods after it (carry-over); summed over date and channel it is `plan`.
    """

    plan: np.ndarray
    current: np.ndarray | None
    by_week: xr.DataArray


def forecast_plan(
    model: MarketingMixModel, spend: np.ndarray | xr.DataArray, controls: np.ndarray | None = None, seed: int = 0
) -> tuple[PlanForecast, PlanDraws]:
    """Week-by-week forecast of the outcome under a spend plan, and the draws behind its totals.

    spend: (date, channel) in currency, or (date, geo, channel) on a geo model planned region by
    region; an array is read as (period, channel), or (period, geo, channel), in the model's order
    for the periods right after the data. The forecast has the expected outcome
    per period (mean and 90% interval, noise included), the incremental outcome per channel and
    in total, the plan's ROAS, and the probability that it beats the current mix at the same budget.
    """
    horizon_len = spend.sizes[DATE] if isinstance(spend, xr.DataArray) else np.asarray(spend).shape[0]
    horizon = Horizon.after(model, horizon_len, controls)
    if not isinstance(spend, xr.DataArray):
        values = np.asarray(spend, dtype=float)
        dims: tuple[str, ...] = (DATE, CHANNEL)
        coords = {DATE: horizon.dates.values, CHANNEL: model.channels}
        if values.ndim == 3:  # (period, geo, channel): a plan by region
            dims, coords = (DATE, GEO, CHANNEL), coords | {GEO: model.observed.geos}
        spend = xr.DataArray(values, dims=dims, coords=coords)
    spend = spend.assign_coords({DATE: horizon.dates.values})
    dates, ctrl = horizon.with_tail(model)
    params = model.posterior_params()

    def media(plan: xr.DataArray) -> xr.Dataset:
        padded = plan.reindex({DATE: dates.values}, fill_value=0.0)
        return model.predict_components(padded, ctrl, horizon.history, params)

    with_plan = media(spend)
    without = media(spend * 0.0)["media"]
    by_week = (with_plan["media"] - without).sum(GEO).transpose(SAMPLE, DATE, CHANNEL)
    incremental = by_week.sum(DATE)  # (sample, channel)
    total = incremental.sum(CHANNEL)
    budget = float(spend.sum())
    current_total = None
    if budget > 0:
        # the current mix at the same budget and length, on the same draws, is the comparator
        now = current_plan(model, budget, horizon_len)
        if GEO in spend.dims:
            now = now * geo_fit.geo_share_array(model)  # the current mix keeps each region's recent share
        now = now.broadcast_like(spend)
        current_total = (media(now)["media"] - without).sum([DATE, GEO, CHANNEL])
    mean_path = with_plan["mean"].isel({DATE: slice(0, horizon_len)})
    observed = model.sample_observations(mean_path, seed, params).sum(GEO)  # each geo's noise, then the total
    path_mean, lo, hi = band_of(observed, SAMPLE)
    forecast = PlanForecast(
        outcome=model.config.data.kpi,
        dates=[str(d.date()) for d in horizon.dates],
        target=SeriesBand(mean=path_mean.values.tolist(), low=lo.values.tolist(), high=hi.values.tolist()),
        incremental=Interval.of(total, SAMPLE),
        incremental_by_channel={ch: Interval.of(incremental.sel({CHANNEL: ch}), SAMPLE) for ch in model.channels},
        spend=budget,
        spend_by_channel={ch: float(spend.sel({CHANNEL: ch}).sum()) for ch in model.channels},
        roas=Interval.of(total / budget, SAMPLE) if budget > 0 else None,
        expected=Interval.of(observed.sum(DATE), SAMPLE),
        current_incremental=Interval.of(current_total, SAMPLE) if current_total is not None else None,
        prob_better_than_current=float((total > current_total).mean()) if current_total is not None else None,
        geo_split=REGION_NOTE if GEO in spend.dims else share_note(model),
    )
    draws = PlanDraws(total.transpose(SAMPLE).values, None if current_total is None else current_total.transpose(SAMPLE).values, by_week)
    return forecast, draws
