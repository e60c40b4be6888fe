"""The optimiser's objective: incremental outcome (and its gradient) of spending a constant amount per period.

With weekly spend u_c held for the horizon, each channel's carried-over spend is affine in
u_c: a_t = carry_in_t + u_c * exposure_t, so the outcome comes in closed form for every
posterior draw. The gradient is the complex-step derivative of that same formula: a
channel's outcome depends on its own spend only, so one complex evaluation yields every
channel's exact derivative. Agrees with `forecast_plan` on constant plans. Under media
seasonality each period's outcome counts times the period's effectiveness multiplier.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from mmm.core.constants import CHANNEL
from mmm.model.cells import PlanCells, plan_cells
from mmm.model.estimator import MarketingMixModel
from mmm.planning.forecast import Horizon, thin
from mmm.transforms import lagged
from mmm.transforms.saturation import COMPLEX_STEP


class ConstantPlanResponse:
    """Posterior draws of the incremental outcome of a constant weekly plan, for the optimiser's inner loop.

    Arrays are laid out (sample, date, cell) with cells in `self.cells` order (one per channel in a
    national model, per geo and channel in a geo model). A plan is a vector of weekly spend per unit of
    `cells` (default: per channel, each spread over the geos by their share of its recent spend; see
    `mmm.model.cells`) or a DataArray over `channel` when the units are channels.
    """

    def __init__(self, model: MarketingMixModel, periods: int, n_draws: int | None = 2000, seed: int = 0, cells: PlanCells | None = None):
        media = model.media
        self.channels = model.channels
        self.saturation = media.saturation
        self.params = thin(model.posterior_params(), n_draws, seed)
        self.cells = cells = cells if cells is not None else plan_cells(model)
        self.cell_params = cells.params(self.params, model)  # the transforms' parameters per cell
        horizon = Horizon.after(model, periods)
        scale = cells.spend_scale
        tail = media.l_max - 1
        zeros = np.zeros((periods + tail, len(scale)))
        ones = zeros.copy()
        ones[:periods] = cells.expand(np.ones(cells.n_units)) / scale  # one currency unit of each unit per period, scaled
        weights = media.weights(self.cell_params)
        history = cells.history(horizon.history, self.channels)
        self.carry_in = cells.carry(lagged(zeros, media.l_max, history), weights)  # (sample, date, cell)
        self.exposure = cells.carry(lagged(ones, media.l_max), weights)
        self.coef = cells.coef(self.params)  # (sample, cell), currency
        self.base = self.saturation.saturate(self.carry_in, self.cell_params, np)
        dates, _ = horizon.with_tail(model)
        multiplier = model.media_multiplier(dates, self.params)  # (sample, date), or None: the same every period
        self.multiplier = None if multiplier is None else multiplier[:, :, None]

    def vector(self, weekly: np.ndarray | xr.DataArray) -> np.ndarray:
        """A plan as a vector in unit order (a DataArray over channels is selected by channel name)."""
        if isinstance(weekly, xr.DataArray):
            assert not self.cells.by_cell, "a plan by region's cell is a vector in unit order"
            return np.asarray(weekly.sel({CHANNEL: self.channels}).values, dtype=float)
        return np.asarray(weekly, dtype=float)

    def _outcome(self, weekly: np.ndarray) -> np.ndarray:
        x = self.carry_in + self.cells.per_cell(weekly) * self.exposure  # exposure counts each cell's share of the channel
        gain = self.saturation.saturate(x, self.cell_params, np) - self.base
        if self.multiplier is not None:
            gain = gain * self.multiplier
        return self.cells.collapse(self.coef * gain.sum(axis=1))

    def revenue_draws(self, weekly: np.ndarray | xr.DataArray) -> np.ndarray:
        """(sample, unit) incremental outcome, currency, of spending `weekly` per period (unit: channel by default)."""
        return self._outcome(self.vector(weekly))

    def gradient_draws(self, weekly: np.ndarray | xr.DataArray) -> np.ndarray:
        """(sample, unit) d outcome / d weekly spend: extra outcome per extra currency unit per period."""
        return np.imag(self._outcome(self.vector(weekly) + 1j * COMPLEX_STEP)) / COMPLEX_STEP
