"""What a future spend plan is expected to earn, from a fitted model's posterior.

A plan's incremental revenue is revenue with the plan minus revenue with no spend over the
plan's periods, all else equal: it counts carry-in from the last periods of history (which
moves each channel along its saturation curve) and the carry-over after the plan ends.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mmm.data import PERIOD_DAYS
from mmm.decomposition import INTERVAL, interval
from mmm.errors import MMMError
from mmm.estimator import MarketingMixModel
from mmm.transforms import adstock, carryover_weights, lagged, saturate, saturation_slope


def thin(params: dict[str, np.ndarray], n_draws: int | None, seed: int) -> dict[str, np.ndarray]:
    """A random subset of n_draws posterior draws (all when n_draws is None or larger)."""
    total = next(iter(params.values())).shape[0]
    if n_draws is None or n_draws >= total:
        return params
    idx = np.sort(np.random.default_rng(seed).choice(total, n_draws, replace=False))
    return {k: v[idx] for k, v in params.items()}


@dataclass
class Horizon:
    """The periods right after the data: dates, spend history for carry-in, controls."""

    dates: pd.DatetimeIndex
    history: np.ndarray  # (l_max - 1, channel) spend of the last periods, currency
    controls: np.ndarray  # (period, control), held at their recent mean unless given

    @classmethod
    def after(cls, model: MarketingMixModel, periods: int, controls: np.ndarray | None = None) -> Horizon:
        d = model.data
        step = pd.Timedelta(days=PERIOD_DAYS[d.frequency])
        dates = pd.DatetimeIndex([d.dates[-1] + step * (i + 1) for i in range(periods)])
        if controls is None:
            recent = d.controls[-min(periods, d.n_periods) :].mean(axis=0)
            controls = np.tile(recent, (periods, 1))
        keep = model.config.model.l_max - 1
        history = d.spend[-keep:] if keep else np.zeros((0, d.spend.shape[1]))
        return cls(dates, history, np.asarray(controls, dtype=float).reshape(periods, -1))

    def with_tail(self, model: MarketingMixModel) -> tuple[pd.DatetimeIndex, np.ndarray]:
        """Dates and controls extended by l_max - 1 periods, so carry-over after the plan counts."""
        tail = model.config.model.l_max - 1
        step = self.dates[1] - self.dates[0] if len(self.dates) > 1 else pd.Timedelta(days=PERIOD_DAYS[model.data.frequency])
        extra = pd.DatetimeIndex([self.dates[-1] + step * (i + 1) for i in range(tail)])
        ctrl = np.vstack([self.controls, np.tile(self.controls[-1:], (tail, 1))]) if tail else self.controls
        return self.dates.append(extra), ctrl


class ConstantPlanResponse:
    """Incremental revenue (and its exact gradient) of spending a constant amount per period.

    With weekly spend u_c held for the horizon, each channel's carried-over spend is affine in
    u_c: a_t = carry_in_t + u_c * exposure_t, so revenue and gradient come in closed form for
    every posterior draw. Used by the optimiser; agrees with `forecast_plan` on constant plans.
    """

    def __init__(self, model: MarketingMixModel, periods: int, n_draws: int | None = 2000, seed: int = 0):
        spec = model.config.model
        self.model, self.periods, self.spec = model, periods, spec
        self.params = thin(model.posterior_params(), n_draws, seed)
        horizon = Horizon.after(model, periods)
        scale = np.asarray(model.scaling.spend)
        tail = spec.l_max - 1
        n_channels = len(scale)
        zeros = np.zeros((periods + tail, n_channels))
        ones = zeros.copy()
        ones[:periods] = 1.0 / scale  # one currency unit per period, in scaled units
        weights = carryover_weights(spec.adstock, self.params, spec.l_max, np)
        self.carry_in = adstock(lagged(zeros, spec.l_max, horizon.history / scale), weights)  # (draw, time, channel)
        self.exposure = adstock(lagged(ones, spec.l_max), weights)
        self.coef = self.params["channel_coef"] * model.scaling.target  # (draw, channel), currency
        self.base = saturate(spec.saturation, self.carry_in, self.params, np)

    def revenue_draws(self, weekly: np.ndarray) -> np.ndarray:
        """(draw, channel) incremental revenue, currency, of spending `weekly` per period."""
        x = self.carry_in + np.asarray(weekly, dtype=float) * self.exposure
        sat = saturate(self.spec.saturation, x, self.params, np)
        return self.coef * (sat - self.base).sum(axis=1)

    def gradient_draws(self, weekly: np.ndarray) -> np.ndarray:
        """(draw, channel) d revenue / d weekly spend: extra revenue per extra unit per period."""
        x = self.carry_in + np.asarray(weekly, dtype=float) * self.exposure
        slope = saturation_slope(self.spec.saturation, x, self.params, np)
        return self.coef * (slope * self.exposure).sum(axis=1)


def current_plan(model: MarketingMixModel, budget: float, weeks: int) -> np.ndarray:
    """Weekly spend per channel of the last `weeks` periods, scaled to the budget: the plan to beat."""
    recent = model.data.spend[-weeks:]
    if recent.sum() <= 0:
        raise MMMError(f"there was no spend in the last {weeks} periods, so there is no current plan to compare with")
    share = recent.sum(axis=0) / recent.sum()
    return share * budget / weeks


def forecast_plan(model: MarketingMixModel, spend: np.ndarray, controls: np.ndarray | None = None, seed: int = 0) -> dict:
    """Week-by-week forecast of the target under a spend plan (period, channel) in currency.

    Returns dates, the expected target per period (mean and 90% interval, including noise),
    incremental revenue per channel and in total (mean and 90% interval), the plan's ROAS, and
    the probability that it earns more than the current mix at the same budget.
    """
    spend = np.asarray(spend, dtype=float)
    periods = spend.shape[0]
    horizon = Horizon.after(model, periods, controls)
    dates, ctrl = horizon.with_tail(model)
    tail = len(dates) - periods
    params = model.posterior_params()
    padded = np.vstack([spend, np.zeros((tail, spend.shape[1]))])
    with_plan = model.predict_components(dates, padded, ctrl, horizon.history, params)
    without = model.predict_components(dates, np.zeros_like(padded), ctrl, horizon.history, params)
    incremental = (with_plan["media"] - without["media"]).sum(axis=1)  # (draw, channel)
    budget = float(spend.sum())
    if budget > 0:
        # the current mix at the same budget and length, on the same draws, is the comparator
        now = np.tile(current_plan(model, budget, periods), (periods, 1))
        now_padded = np.vstack([now, np.zeros((tail, spend.shape[1]))])
        now_media = model.predict_components(dates, now_padded, ctrl, horizon.history, params)["media"]
        current_total = (now_media - without["media"]).sum(axis=(1, 2))
    observed = model.sample_observations(with_plan["mean"][:, :periods], seed, params)
    lo, hi = np.quantile(observed, [(1 - INTERVAL) / 2, (1 + INTERVAL) / 2], axis=0)
    total = incremental.sum(axis=1)
    return {
        "dates": [str(d.date()) for d in dates[:periods]],
        "target": {"mean": observed.mean(axis=0).tolist(), "low": lo.tolist(), "high": hi.tolist()},
        "incremental_revenue": interval(total),
        "incremental_by_channel": {ch: interval(incremental[:, i]) for i, ch in enumerate(model.channels)},
        "spend": budget,
        "spend_by_channel": {ch: float(spend[:, i].sum()) for i, ch in enumerate(model.channels)},
        "roas": interval(total / budget) if budget > 0 else None,
        "expected_revenue": interval(observed.sum(axis=1)),
        "current_incremental_revenue": interval(current_total) if budget > 0 else None,
        "prob_better_than_current": float(np.mean(total > current_total)) if budget > 0 else None,
    }
