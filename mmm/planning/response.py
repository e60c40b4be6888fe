"""The optimiser's objective: incremental outcome (and its gradient) of spending a constant amount per period.

With weekly spend u_c held for the horizon, each channel's carried-over spend is affine in
u_c: a_t = carry_in_t + u_c * exposure_t, so the outcome comes in closed form for every
posterior draw. The gradient is the complex-step derivative of that same formula: a
channel's outcome depends on its own spend only, so one complex evaluation yields every
channel's exact derivative. Agrees with `forecast_plan` on constant plans.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from mmm.core.constants import CHANNEL
from mmm.model.estimator import MarketingMixModel
from mmm.planning.forecast import Horizon, thin
from mmm.transforms import carry, lagged
from mmm.transforms.saturation import COMPLEX_STEP


class ConstantPlanResponse:
    """Posterior draws of the incremental outcome of a constant weekly plan, for the optimiser's inner loop.

    Arrays are laid out (sample, date, channel) with channels in `self.channels` order; a plan is a
    vector in that order or a DataArray over `channel`.
    """

    def __init__(self, model: MarketingMixModel, periods: int, n_draws: int | None = 2000, seed: int = 0):
        media = model.media
        self.channels = model.channels
        self.saturation = media.saturation
        self.params = thin(model.posterior_params(), n_draws, seed)
        horizon = Horizon.after(model, periods)
        scale = np.asarray(model.scales.spend)
        tail = media.l_max - 1
        zeros = np.zeros((periods + tail, len(scale)))
        ones = zeros.copy()
        ones[:periods] = 1.0 / scale  # one currency unit per period, in scaled units
        weights = media.weights(self.params)
        history = horizon.history.sel({CHANNEL: self.channels}).values / scale
        self.carry_in = carry(lagged(zeros, media.l_max, history), weights)  # (sample, date, channel)
        self.exposure = carry(lagged(ones, media.l_max), weights)
        self.coef = self.params["channel_coef"] * model.scales.target  # (sample, channel), currency
        self.base = self.saturation.saturate(self.carry_in, self.params, np)

    def vector(self, weekly: np.ndarray | xr.DataArray) -> np.ndarray:
        """A plan as a vector in channel order (a DataArray is selected by channel name)."""
        if isinstance(weekly, xr.DataArray):
            return np.asarray(weekly.sel({CHANNEL: self.channels}).values, dtype=float)
        return np.asarray(weekly, dtype=float)

    def _outcome(self, weekly: np.ndarray) -> np.ndarray:
        x = self.carry_in + weekly * self.exposure
        return self.coef * (self.saturation.saturate(x, self.params, np) - self.base).sum(axis=1)

    def revenue_draws(self, weekly: np.ndarray | xr.DataArray) -> np.ndarray:
        """(sample, channel) incremental outcome, currency, of spending `weekly` per period."""
        return self._outcome(self.vector(weekly))

    def gradient_draws(self, weekly: np.ndarray | xr.DataArray) -> np.ndarray:
        """(sample, channel) d outcome / d weekly spend: extra outcome per extra unit per period."""
        return np.imag(self._outcome(self.vector(weekly) + 1j * COMPLEX_STEP)) / COMPLEX_STEP
