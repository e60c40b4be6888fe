"""How media effectiveness varies through the year: one multiplier shared by every channel's effect.

The multiplier at a date is exp of a few yearly Fourier terms of that date, divided by its
average over a whole year, so 1 is an average week and 1.2 a week in which every channel's
effect is 20% above its yearly average. Its coefficients have a Normal(0, PRIOR_SIGMA) prior:
without evidence the multiplier stays near 1. The formula takes the array module as `xp`
(numpy, or pytensor.tensor inside the PyMC model) like every transform.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mmm.transforms.base import Param, Prior

DAYS_PER_YEAR = 365.25
GRID_POINTS = 365  # days of a year over which the multiplier is averaged to 1
PRIOR_SIGMA = 0.15  # per coefficient: with order 2, the log multiplier's yearly swing has sd ~0.2 a priori


def yearly_basis(dates: pd.DatetimeIndex | np.ndarray, order: int) -> np.ndarray:
    """(date, 2 x order) sin and cos of k x 2 pi x (days since 1970-01-01 / 365.25), k = 1..order."""
    days = (pd.DatetimeIndex(dates) - pd.Timestamp("1970-01-01")).days.to_numpy(dtype=float)
    return _basis(2 * np.pi * days / DAYS_PER_YEAR, order)


def _basis(phase: np.ndarray, order: int) -> np.ndarray:
    return np.column_stack([f(k * phase) for k in range(1, order + 1) for f in (np.sin, np.cos)])


@dataclass(frozen=True)
class MediaSeasonality:
    """A yearly multiplier on every channel's effect (`model.media_seasonality: true`), order `order` Fourier terms."""

    order: int = 2
    name = "media_seasonality"
    description = "media effectiveness through the year"

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> MediaSeasonality | None:
        """The component when the model options switch it on (`media_seasonality: true`), else None."""
        return cls() if options.get("media_seasonality") else None

    @property
    def param(self) -> Param:
        """The sampled coefficients (dims `media_fourier`), standardised as in `PRIOR_SIGMA`."""
        return Param("media_season", "media seasonality", Prior("Normal", {"mu": 0.0, "sigma": PRIOR_SIGMA}))

    @property
    def size(self) -> int:
        """Number of coefficients: a sine and a cosine per order."""
        return 2 * self.order

    def basis(self, dates: pd.DatetimeIndex | np.ndarray) -> np.ndarray:
        """The model input (date, size) for these dates: any date, past or future."""
        return yearly_basis(dates, self.order)

    def multiplier(self, basis: Any, params: Mapping[str, Any], xp: Any = np) -> Any:
        """The multiplier (..., date) from the basis (date, size) and coefficients (..., size); averages 1 over a year."""
        coef = params["media_season"]
        grid = _basis(2 * np.pi * np.arange(GRID_POINTS) / GRID_POINTS, self.order)
        log_m = (coef[..., None, :] * basis).sum(axis=-1)
        year = xp.exp((coef[..., None, :] * grid).sum(axis=-1)).mean(axis=-1)
        return xp.exp(log_m) / year[..., None]
