"""The by-week optimiser's objective: incremental outcome (and its exact gradient) of a plan that varies by week.

A plan x (period, channel) in currency runs through each channel's carry-over: the carried-over
spend in period p is the carry-in from history plus sum over lags of weight[lag] x[p - lag] /
typical spend. It is saturated, minus the saturation of the carry-in alone, and counted times the
period's media effectiveness (1 in every period without media seasonality) and the channel's
coefficient; summed over the plan's periods and the l_max - 1 after it, it is the plan's
incremental outcome, per posterior draw. With `continuation` (spend per week per channel after the
plan) the periods after the plan hold that spend too, in both worlds: the business goes on
spending after the plan, so the last week's carry-over lands on a market as saturated as any
other week's, and piling spend into the plan's last week earns no phantom return. The gradient is the chain rule through the same
formula: the saturation's slope (`Saturation.slope`, exact) carried back through the weights.
Without continuation it agrees with `ConstantPlanResponse` on a flat plan and with `forecast_plan` on any plan.
"""

from __future__ import annotations

import numpy as np

from mmm.model.cells import PlanCells
from mmm.model.estimator import MarketingMixModel
from mmm.planning.response import ConstantPlanResponse
from mmm.transforms import lagged


class WeeklyPlanResponse(ConstantPlanResponse):
    """Posterior draws of the incremental outcome of a plan (period, channel) over `periods` periods, and gradients."""

    def __init__(
        self,
        model: MarketingMixModel,
        periods: int,
        n_draws: int | None = None,
        seed: int = 0,
        continuation: np.ndarray | None = None,
        cells: PlanCells | None = None,
    ):
        super().__init__(model, periods, n_draws=n_draws, seed=seed, cells=cells)
        self.periods = periods
        self.l_max = model.media.l_max
        self.scale = self.cells.spend_scale  # (cell,): a geo model's cells get each channel's spend by geo share
        self.lag_weights = model.media.weights(self.cell_params)  # (sample, lag, cell)
        self.start, self.start_level = self.carry_in, self.base  # carried-over spend without the plan, and its saturation
        if continuation is not None:
            after = np.zeros((self.carry_in.shape[1], len(self.scale)))
            after[periods:] = self.cells.expand(np.asarray(continuation, dtype=float)) / self.scale
            self.start = self.carry_in + self.cells.carry(lagged(after, self.l_max), self.lag_weights)
            self.start_level = self.saturation.saturate(self.start, self.cell_params, np)
        ones = np.ones(self.carry_in.shape[:2])
        self.effect = self.coef[:, None, :] * (
            ones[:, :, None] if self.multiplier is None else self.multiplier
        )  # (sample, period, channel)

    def _carried(self, plan: np.ndarray) -> np.ndarray:
        """Carried-over spend (sample, period, channel), scaled, over the plan's periods and the tail after it."""
        padded = np.zeros((self.carry_in.shape[1], len(self.scale)))
        padded[: self.periods] = self.cells.expand(plan) / self.scale
        return self.start + self.cells.carry(lagged(padded, self.l_max), self.lag_weights)

    def plan_draws(self, plan: np.ndarray) -> np.ndarray:
        """(sample,) incremental outcome of the plan (period, channel in currency), over the plan and its carry-over."""
        gain = self.saturation.saturate(self._carried(plan), self.cell_params, np) - self.start_level
        return (self.effect * gain).sum(axis=(1, 2))

    def _back(self, slope_effect: np.ndarray) -> np.ndarray:
        """Carry a per-draw sensitivity to carried-over spend (sample, period, channel) back to spend (period, channel), mean over draws."""
        per_lag = np.einsum("spc,slc->plc", slope_effect, self.lag_weights) / slope_effect.shape[0]
        grad = np.zeros((self.periods, per_lag.shape[2]))
        for lag in range(self.l_max):
            grad += per_lag[lag : lag + self.periods, lag, :]
        if not self.cells.is_geo:
            return grad / self.scale
        return self.cells.collapse(grad * self.cells.share / self.scale)  # a channel's spend reaches each geo by its share

    def value_and_gradient(self, plan: np.ndarray, risk: float = 0.0) -> tuple[float, np.ndarray]:
        """Mean over draws of the incremental outcome minus `risk` standard deviations, and its gradient (period, channel).

        The gradient is per unit of spend in each period and channel (outcome units per currency).
        """
        x = self._carried(plan)
        draws = (self.effect * (self.saturation.saturate(x, self.cell_params, np) - self.start_level)).sum(axis=(1, 2))
        sensitivity = self.effect * self.saturation.slope(x, self.cell_params)
        value, grad = float(draws.mean()), self._back(sensitivity)
        sd = float(draws.std())
        if risk > 0 and sd > 0:
            centred = (draws - draws.mean())[:, None, None]
            value -= risk * sd
            grad = grad - risk * self._back(sensitivity * centred) / sd
        return value, grad
