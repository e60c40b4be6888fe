"""Difference-in-differences by time-based regression: how a geo test's lift is measured (`mmm analyze-test`),
what error a planned geo test will have (`mmm plan-test`) and how a simulated one is read (`mmm simulate --test-design`).

Over the last PRE_PERIODS periods before the test (all of them when there are fewer) the treated
regions' total is regressed on the control regions' total and a linear trend (T_t = a + b C_t + d t,
least squares): the trend absorbs regions that grow at different rates, which would otherwise pass
for an effect. Over the measured periods (the test and its cool-down) that line predicts what the
treated regions would have done without the test, and the lift is the sum of actual minus
predicted. Its standard error counts the pre-period's residual noise in every measured period and
the uncertainty of the coefficients: Var = n s^2 + v' Cov v, with v the sum of the regressors
(1, C_t, t) over the measured periods.
"""

from __future__ import annotations

import numpy as np

PRE_PERIODS = 104  # two years: every season twice (with one, a season and the trend are hard to tell apart)


def _regressors(control: np.ndarray, periods: np.ndarray) -> np.ndarray:
    return np.column_stack([np.ones_like(control), control, periods.astype(float)])


def _fit(treated: np.ndarray, control: np.ndarray, pre: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, float]:
    """(coefficients, their covariance, residual variance, R²) of the treated totals on the control totals and
    the trend, over the last PRE_PERIODS periods where `pre` holds."""
    rows = np.flatnonzero(pre)[-PRE_PERIODS:]
    x, y = _regressors(control[rows], rows), treated[rows]
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    resid = y - x @ coef
    s2 = float(resid @ resid) / max(len(y) - x.shape[1], 1)
    ss = float(((y - y.mean()) ** 2).sum())
    return coef, s2 * np.linalg.pinv(x.T @ x), s2, 1 - float(resid @ resid) / ss if ss > 0 else float("nan")


def _se(x_measured: np.ndarray, s2: float, cov: np.ndarray) -> float:
    v = x_measured.sum(axis=0)
    return float(np.sqrt(len(x_measured) * s2 + v @ cov @ v))


def did_lift(treated: np.ndarray, control: np.ndarray, pre: np.ndarray, measured: np.ndarray) -> tuple[float, float, float]:
    """(lift, its standard error, pre-period R²) of the treated totals (period,) against the control totals,
    learnt where `pre` holds and summed where `measured` holds."""
    coef, cov, s2, r2 = _fit(treated, control, pre)
    rows = np.flatnonzero(measured)
    x = _regressors(control[rows], rows)
    return float((treated[rows] - x @ coef).sum()), _se(x, s2, cov), r2


def expected_lift_se(treated: np.ndarray, control: np.ndarray, periods: int) -> float:
    """The standard error this method will give a test measured over the `periods` periods right after these
    treated and control totals (currency per period), the control regions keeping their recent mean level."""
    everything = np.ones(len(treated), dtype=bool)
    _, cov, s2, _ = _fit(treated, control, everything)
    future = np.arange(len(treated), len(treated) + periods)
    level = np.full(periods, float(control[-PRE_PERIODS:].mean()))
    return _se(_regressors(level, future), s2, cov)
