"""Where a plan's spend lands in a fitted model: its media "cells", one per channel (national) or per geo and channel.

A plan decides spend per "unit" (currency per period). By default a unit is a channel: a geo model
spreads each channel's total over the geos by their share of the channel's recent spend
(`geo.spend_shares`: the last SHARE_PERIODS periods), or by a split given, and adds up what each
geo earns; a national model has one cell per channel and every formula here returns its input
unchanged. A plan region by region (`by_cell`) has one unit per geo and channel, except that a
channel bought nationally stays one unit, spread by its fixed (population) split.
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
    share of its unit's spend landing in it; spend_scale: (cell,) its typical spend (currency per period);
    unit: (cell,) index of the unit (decision) its spend comes from; unit_geo: (unit,) index of each
    unit's geo, -1 for a unit spread over all geos (a channel)."""

    channel: np.ndarray
    share: np.ndarray
    spend_scale: np.ndarray
    target_scale: np.ndarray | float
    n_channels: int
    n_geos: int
    geos: list[str]
    unit: np.ndarray
    unit_geo: np.ndarray

    @property
    def is_geo(self) -> bool:
        return self.n_geos > 1

    @property
    def n_units(self) -> int:
        return len(self.unit_geo)

    @property
    def by_cell(self) -> bool:
        """Whether units are regions' cells rather than channels."""
        return bool((self.unit_geo >= 0).any())

    @property
    def unit_channel(self) -> np.ndarray:
        """(unit,) index of each unit's channel."""
        out = np.zeros(self.n_units, dtype=int)
        out[self.unit] = self.channel
        return out

    def unit_names(self, channels: list[str]) -> list[str]:
        """A label per unit: the channel, or 'geo/channel' for one region's cell."""
        return [channels[c] if g < 0 else f"{self.geos[g]}/{channels[c]}" for g, c in zip(self.unit_geo, self.unit_channel)]

    def _membership(self) -> np.ndarray:
        """(cell, unit) 1 where the cell belongs to the unit."""
        return (self.unit[:, None] == np.arange(self.n_units)[None, :]).astype(float)

    def params(self, params: dict[str, np.ndarray], model: MarketingMixModel) -> dict[str, np.ndarray]:
        """The transform parameters per cell (shared per-channel parameters repeated for every geo)."""
        return spread(params, model.media, self.n_geos, self.n_channels) if self.is_geo else params

    def coef(self, params: dict[str, np.ndarray]) -> np.ndarray:
        """(sample, cell) outcome per period at saturation 1, in the outcome's unit."""
        return cells(params["channel_coef"]) * self.target_scale if self.is_geo else params["channel_coef"] * self.target_scale

    def expand(self, spend: np.ndarray) -> np.ndarray:
        """Unit totals (..., unit) -> spend in each cell (..., cell)."""
        return spend[..., self.unit] * self.share if self.is_geo else spend

    def per_cell(self, values: np.ndarray) -> np.ndarray:
        """A per-unit value (..., unit) repeated for each of its cells (..., cell)."""
        return values[..., self.unit] if self.is_geo else values

    def collapse(self, values: np.ndarray) -> np.ndarray:
        """Per cell (..., cell) -> per unit (..., unit), summed over the unit's geos."""
        if not self.is_geo:
            return values
        if not self.by_cell:
            return values.reshape(*values.shape[:-1], self.n_geos, self.n_channels).sum(axis=-2)
        return values @ self._membership()

    def cell_grid(self, values: np.ndarray) -> np.ndarray:
        """Per cell (..., cell) -> (..., geo, channel)."""
        return values.reshape(*values.shape[:-1], self.n_geos, self.n_channels)

    @property
    def split(self) -> np.ndarray:
        """(geo, channel) each cell's share of its unit's spend: by channel, each geo's share of the channel."""
        return self.cell_grid(self.share)

    def carry(self, lagged_spend: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Carried-over spend (..., period, cell); for many cells an einsum, so no draws x lags array is held."""
        return np.einsum("tlk,...lk->...tk", lagged_spend, weights) if self.is_geo else carry(lagged_spend, weights)

    def history(self, history: xr.DataArray, channels: list[str]) -> np.ndarray:
        """Spend of the periods before a plan (period, cell), scaled by each cell's typical spend."""
        if not self.is_geo:
            return history.sel({CHANNEL: channels}).values / self.spend_scale
        values = history.sel({CHANNEL: channels, GEO: self.geos}).transpose(DATE, GEO, CHANNEL).values
        return values.reshape(values.shape[0], -1) / self.spend_scale


def plan_cells(model: MarketingMixModel, periods: int = SHARE_PERIODS, split: np.ndarray | None = None, by_cell: bool = False) -> PlanCells:
    """The cells of a fitted model. A geo model spreads each channel by `split` (geo, channel), else by the
    geos' shares of the last `periods` periods; with `by_cell` each geo's cell of a channel bought by
    region is a unit of its own (a channel bought nationally stays one unit, spread by its split)."""
    channels = model.channels
    scales = model.scales
    c = len(channels)
    if not model.is_geo:
        index = np.arange(c)
        return PlanCells(index, np.ones(c), np.asarray(scales.spend), scales.target, c, 1, model.observed.geos, index, np.full(c, -1))
    geos = model.observed.geos
    shares = spend_shares(model.observed, periods) if split is None else np.asarray(split, dtype=float)
    channel = np.tile(np.arange(c), len(geos))
    geo = np.repeat(np.arange(len(geos)), c)
    unit, unit_geo = channel, np.full(c, -1)
    if by_cell:
        national = {ch.name for ch in model.config.channels if ch.national}
        keys = [(-1 if channels[k] in national else int(g), int(k)) for g, k in zip(geo, channel)]
        order = list(dict.fromkeys(keys))  # one unit per key, in the order the cells first name it
        unit = np.array([order.index(key) for key in keys])
        unit_geo = np.array([g for g, _ in order])
        shares = np.where(unit_geo[unit].reshape(len(geos), c) >= 0, 1.0, shares)
    return PlanCells(
        channel=channel,
        share=shares.reshape(-1),
        spend_scale=np.asarray(scales.geo_spend, dtype=float).reshape(-1),
        target_scale=np.repeat(np.asarray(scales.geo_target, dtype=float), c),
        n_channels=c,
        n_geos=len(geos),
        geos=geos,
        unit=unit,
        unit_geo=unit_geo,
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
