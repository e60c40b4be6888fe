"""Is there slow structure left in a fit's residuals? A trend the model's baseline did not capture.

The residuals (actual minus the posterior-mean prediction, one per period, in time order) are
regressed on a straight line and a few slow cosines, all with periods longer than a year so that
yearly seasonality (which the model fits) is not mistaken for a trend; an F-test says whether
they explain more than noise would. A small p-value on a linear-trend fit suggests `trend: flexible`.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from mmm.core.results import Result
from mmm.data.dataset import PERIODS_PER_YEAR

MAX_SLOW_COSINES = 6  # at most this many cosines (long data would otherwise get ever faster "slow" terms)


class ResidualTrend(Result):
    """How much slow structure the residuals hold.

    p_value: F-test of the slow terms against residuals that are constant plus white noise
    (small: a trend is left); share: fraction (0 to 1) of the residuals' variance the slow terms explain.
    """

    p_value: float
    share: float


def slow_basis(periods: int, periods_per_year: float) -> np.ndarray:
    """Slow terms over `periods` periods (period, term): a centred straight line and DCT-II cosines
    cos(pi k (t + 1/2) / periods) for k = 1, 2, ... while their period 2 periods / k is longer than a
    year (at most MAX_SLOW_COSINES)."""
    t = np.arange(periods, dtype=float)
    n_cos = min(MAX_SLOW_COSINES, max(0, math.ceil(2 * periods / periods_per_year) - 1))
    cosines = [np.cos(np.pi * k * (t + 0.5) / periods) for k in range(1, n_cos + 1)]
    return np.column_stack([t - t.mean(), *cosines])


def residual_trend(residuals: np.ndarray, periods_per_year: float = PERIODS_PER_YEAR["weekly"]) -> ResidualTrend:
    """F-test for slow structure in residuals (period,), in time order; any unit (currency per period).

    periods_per_year: 52.18 for weekly data (the default), 365.25 for daily. The test assumes
    otherwise independent residuals, so strongly autocorrelated ones read as slightly more trend.
    """
    r = np.asarray(residuals, dtype=float).ravel()
    design = np.column_stack([np.ones(len(r)), slow_basis(len(r), periods_per_year)])
    rank = int(np.linalg.matrix_rank(design))
    fitted = design @ np.linalg.lstsq(design, r, rcond=None)[0]
    rss_slow = float(np.sum((r - fitted) ** 2))
    rss_flat = float(np.sum((r - r.mean()) ** 2))
    if rss_flat == 0.0:  # constant residuals: nothing to explain
        return ResidualTrend(p_value=1.0, share=0.0)
    share = 1.0 - rss_slow / rss_flat
    df_slow, df_rest = rank - 1, len(r) - rank
    if rss_slow == 0.0:
        return ResidualTrend(p_value=0.0, share=1.0)
    f_stat = (rss_flat - rss_slow) / df_slow / (rss_slow / df_rest)
    return ResidualTrend(p_value=float(stats.f.sf(f_stat, df_slow, df_rest)), share=share)
