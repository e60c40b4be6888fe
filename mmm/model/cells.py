"""Where a plan's spend lands in a fitted model: its media "cells", one per channel (national) or per geo and channel.

Plans, response curves and the optimiser speak channel totals (currency per period). A geo model
spreads each channel's total over the geos by their share of the channel's recent spend
(`geo.spend_shares`: the last SHARE_PERIODS periods) and adds up what each geo earns; a national
model has one cell per channel and every formula here returns its input unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from mmm.core.constants import CHANNEL, DATE, GEO
from mmm.model.geo import SHARE_PERIODS, cells, spend_shares, spread
from mmm.transforms import carry

if TYPE_CHECKING:
    from mmm.model.estimator import MarketingMixModel


@dataclass(frozen=True)
class PlanCells:
    """The cells of a fitted model. channel: (cell,) index of each cell's channel; share: (cell,)
    share of the channel's spend landing in it; spend_scale: (cell,) its typical spend (currency per period)."""

    channel: np.ndarray
    share: np.ndarray
    spend_scale: np.ndarray
    target_scale: np.ndarray | float
    n_channels: int
    n_geos: int
    geos: list[str]

    @property
    def is_geo(self) -> bool:
        return self.n_geos > 1

    def params(self, params: dict[str, np.ndarray], model: MarketingMixModel) -> dict[str, np.ndarray]:
        """The transform parameters per cell (shared per-channel parameters repeated for every geo)."""
        return spread(params, model.media, self.n_geos, self.n_channels) if self.is_geo else params

    def coef(self, params: dict[str, np.ndarray]) -> np.ndarray:
        """(sample, cell) outcome per period at saturation 1, in the outcome's unit."""
        return cells(params["channel_coef"]) * self.target_scale if self.is_geo else params["channel_coef"] * self.target_scale

    def expand(self, spend: np.ndarray) -> np.ndarray:
        """Channel totals (..., channel) -> spend in each cell (..., cell)."""
        return spend[..., self.channel] * self.share if self.is_geo else spend

    def per_cell(self, values: np.ndarray) -> np.ndarray:
        """A per-channel value (..., channel) repeated for each of its cells (..., cell)."""
        return values[..., self.channel] if self.is_geo else values

    def collapse(self, values: np.ndarray) -> np.ndarray:
        """Per cell (..., cell) -> per channel (..., channel), summed over geos."""
        return values.reshape(*values.shape[:-1], self.n_geos, self.n_channels).sum(axis=-2) if self.is_geo else values

    def carry(self, lagged_spend: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Carried-over spend (..., period, cell); for many cells an einsum, so no draws x lags array is held."""
        return np.einsum("tlk,...lk->...tk", lagged_spend, weights) if self.is_geo else carry(lagged_spend, weights)

    def history(self, history: xr.DataArray, channels: list[str]) -> np.ndarray:
        """Spend of the periods before a plan (period, cell), scaled by each cell's typical spend."""
        if not self.is_geo:
            return history.sel({CHANNEL: channels}).values / self.spend_scale
        values = history.sel({CHANNEL: channels, GEO: self.geos}).transpose(DATE, GEO, CHANNEL).values
        return values.reshape(values.shape[0], -1) / self.spend_scale


def plan_cells(model: MarketingMixModel, periods: int = SHARE_PERIODS) -> PlanCells:
    """The cells of a fitted model; a geo model's shares are those of the last `periods` periods."""
    channels = model.channels
    scales = model.scales
    if not model.is_geo:
        c = len(channels)
        return PlanCells(np.arange(c), np.ones(c), np.asarray(scales.spend), scales.target, c, 1, model.observed.geos)
    geos = model.observed.geos
    shares = spend_shares(model.observed, periods)
    target = np.asarray(scales.geo_target, dtype=float)
    return PlanCells(
        channel=np.tile(np.arange(len(channels)), len(geos)),
        share=shares.reshape(-1),
        spend_scale=np.asarray(scales.geo_spend, dtype=float).reshape(-1),
        target_scale=np.repeat(target, len(channels)),
        n_channels=len(channels),
        n_geos=len(geos),
        geos=geos,
    )


def share_note(model: MarketingMixModel, periods: int = SHARE_PERIODS) -> str | None:
    """The sentence a plan's output carries on how a geo model spread it over the geos (None for a national model)."""
    if not model.is_geo:
        return None
    shares = spend_shares(model.observed, periods)
    parts = "; ".join(
        f"{ch}: " + ", ".join(f"{g} {shares[i, j]:.0%}" for i, g in enumerate(model.observed.geos)) for j, ch in enumerate(model.channels)
    )
    return f"Each channel's budget is split across the geos by their share of its spend in the last {periods} periods ({parts})."
