"""The one interval helper: posterior mean and central credible interval, at one level for the whole product."""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict

INTERVAL = 0.90  # every reported band is a central 90% credible interval
QUANTILES = ((1 - INTERVAL) / 2, (1 + INTERVAL) / 2)


def _flat(draws: Any, dim: str | None) -> np.ndarray:
    """Draws as a float array: a 1-D array as given, or an xarray object with `dim` first."""
    if dim is not None:
        draws = draws.transpose(dim, ...).values
    return np.asarray(draws, dtype=float)


class Interval(BaseModel):
    """Posterior mean and the bounds of the central 90% interval, in the quantity's own unit."""

    model_config = ConfigDict(frozen=True)

    mean: float
    low: float
    high: float

    @classmethod
    def of(cls, draws: Any, dim: str | None = None) -> Interval:
        """The interval of draws: a 1-D array, or an xarray object reduced over `dim` to a scalar."""
        values = _flat(draws, dim)
        lo, hi = np.quantile(values, QUANTILES)
        return cls(mean=float(np.mean(values)), low=float(lo), high=float(hi))

    @property
    def point(self) -> float:
        """The headline figure: the posterior mean (a cost per conversion's median, see RatioInterval)."""
        return self.mean

    def scaled(self, factor: float) -> Interval:
        """The same interval multiplied by a positive factor (e.g. a total turned into a ratio)."""
        return Interval(mean=self.mean * factor, low=self.low * factor, high=self.high * factor)


class RatioInterval(Interval):
    """An interval of a cost ratio (CPA, CAC, marginal CPA: currency per conversion) with its posterior median too.

    A cost per conversion is spend over conversions, so the draws with few conversions make a long upper
    tail that pulls the mean up; the median is the headline figure. The median of a reciprocal is the
    reciprocal of the median, so the median CPA is 1 / median conversions per unit of cost.
    """

    median: float

    @classmethod
    def of(cls, draws: Any, dim: str | None = None) -> RatioInterval:
        """The interval and median of draws: a 1-D array, or an xarray object reduced over `dim` to a scalar."""
        values = _flat(draws, dim)
        return cls(**Interval.of(values).model_dump(), median=float(np.median(values)))

    @property
    def point(self) -> float:
        """The headline figure: the posterior median."""
        return self.median


def band(draws: np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, low and high of draws along `axis` (elementwise over the other axes)."""
    lo, hi = np.quantile(draws, QUANTILES, axis=axis)
    return np.mean(draws, axis=axis), lo, hi


def band_of(draws: Any, dim: str) -> tuple[Any, Any, Any]:
    """Mean, low and high of an xarray object over the named draw dimension."""
    q = draws.quantile(list(QUANTILES), dim=dim)
    return draws.mean(dim), q.isel(quantile=0, drop=True), q.isel(quantile=1, drop=True)


def accuracy(actual: np.ndarray, predicted: np.ndarray, counts: bool = False) -> dict[str, float]:
    """R², MAPE (fraction) and NRMSE (RMSE over the target's range) of a point prediction.

    With `counts` (the outcome counts events, `predicted` their expected numbers) also `r2_attainable`:
    the share of the variation left once the chance in counting is taken out, the most R² a model can
    reach on these data (counts of n events scatter by about sqrt(n) even when n is known: Poisson).
    """
    resid = actual - predicted
    ss_tot = float(np.sum((actual - actual.mean()) ** 2))
    span = float(actual.max() - actual.min())
    nonzero = actual != 0
    found = {
        "r2": 1 - float(np.sum(resid**2)) / ss_tot if ss_tot > 0 else float("nan"),
        "mape": float(np.mean(np.abs(resid[nonzero] / actual[nonzero]))) if nonzero.any() else float("nan"),
        "nrmse": float(np.sqrt(np.mean(resid**2)) / span) if span > 0 else float("nan"),
    }
    if counts:
        found["r2_attainable"] = max(1 - float(np.sum(predicted)) / ss_tot, 0.0) if ss_tot > 0 else float("nan")
    return found


def thin_draws(posterior: Any, limit: int) -> Any:
    """A (chain, draw) posterior with at most `limit` draws in all, kept evenly spaced within each chain
    (first and last included), so the chains stay whole for convergence and LOO."""
    chains, draws = posterior.sizes["chain"], posterior.sizes["draw"]
    if chains * draws <= limit:
        return posterior
    return posterior.isel(draw=np.linspace(0, draws - 1, max(limit // chains, 1)).round().astype(int))
