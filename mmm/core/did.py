"""Difference-in-differences by time-based regression: how a geo test's lift is measured (`mmm analyze-test`),
what error a planned geo test will have (`mmm plan-test`) and how a simulated one is read (`mmm simulate --test-design`).

Over the last PRE_PERIODS periods before the test (all of them when there are fewer) the treated
regions' total is regressed on the control regions' total and a linear trend (T_t = a + b C_t + d t,
least squares): the trend absorbs regions that grow at different rates, which would otherwise pass
for an effect. Over the measured periods (the test and its cool-down) that line predicts what the
treated regions would have done without the test, and the lift is the sum of actual minus
predicted.

Its standard error starts from the regression's: the pre-period's residual noise in every measured
period and the uncertainty of the coefficients, Var = n s^2 + v' Cov v, with v the sum of the
regressors (1, C_t, t) over the measured periods. Regions drift apart in ways a line fitted to the
past does not foresee (prices, local competition, flighting) and their residuals run in streaks, so
that error alone is often too small. Placebo tests show by how much: in every window of the same
length inside the pre-period, where nothing was tested, the method measures a lift learnt from the
periods before the window only, and the root mean square of those lifts over their own regression
errors (at least 1) multiplies the error stated. The placebos need MIN_PLACEBO_FIT periods to learn
from and MIN_PLACEBOS windows; with a shorter pre-period the regression's error is stated as it is.
"""

from __future__ import annotations

import numpy as np

PRE_PERIODS = 104  # two years: every season twice (with one, a season and the trend are hard to tell apart)
MIN_PLACEBO_FIT = 39  # three quarters: each placebo's line is learnt from at least this many periods
MIN_PLACEBOS = 8


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


def _measure(treated: np.ndarray, control: np.ndarray, pre: np.ndarray, measured: np.ndarray) -> tuple[float, float, float]:
    """(lift, the regression's standard error, pre-period R²)."""
    coef, cov, s2, r2 = _fit(treated, control, pre)
    rows = np.flatnonzero(measured)
    x = _regressors(control[rows], rows)
    return float((treated[rows] - x @ coef).sum()), _se(x, s2, cov), r2


def placebos_fit(pre_periods: int, periods: int) -> bool:
    """Whether a pre-period this long holds the placebo windows of `periods` periods that set the method's error."""
    return pre_periods - periods + 1 - MIN_PLACEBO_FIT >= MIN_PLACEBOS


def placebo_factor(treated: np.ndarray, control: np.ndarray, periods: int) -> float:
    """How much larger than the regression's error the method's error is out of sample (at least 1): the root
    mean square of each placebo's lift over its own regression error, over every window of `periods` periods
    of these pre-period totals after the first MIN_PLACEBO_FIT, each learnt from the periods before it; 1
    when fewer than MIN_PLACEBOS windows fit."""
    if not placebos_fit(len(treated), periods):
        return 1.0
    starts = range(MIN_PLACEBO_FIT, len(treated) - periods + 1)
    index = np.arange(len(treated))
    placebos = [_measure(treated, control, index < s, (index >= s) & (index < s + periods))[:2] for s in starts]
    exact = 1e-9 * float(np.abs(treated).max())  # a window fitted to rounding says nothing of the error
    ratios = [lift / se for lift, se in placebos if se > exact]
    return max(1.0, float(np.sqrt(np.mean(np.square(ratios))))) if ratios else 1.0


def did_lift(treated: np.ndarray, control: np.ndarray, pre: np.ndarray, measured: np.ndarray) -> tuple[float, float, float]:
    """(lift, its standard error, pre-period R²) of the treated totals (period,) against the control totals,
    learnt where `pre` holds and summed where `measured` holds."""
    lift, se, r2 = _measure(treated, control, pre, measured)
    rows = np.flatnonzero(pre)
    return lift, se * placebo_factor(treated[rows], control[rows], int(measured.sum())), r2


def expected_lift_se(treated: np.ndarray, control: np.ndarray, periods: int, placebos: bool = True) -> float:
    """The standard error this method will give a test measured over the `periods` periods right after these
    treated and control totals (currency per period), the control regions keeping their recent mean level.
    placebos=False gives the regression's error alone: smooth across splits, for ranking them."""
    everything = np.ones(len(treated), dtype=bool)
    _, cov, s2, _ = _fit(treated, control, everything)
    future = np.arange(len(treated), len(treated) + periods)
    level = np.full(periods, float(control[-PRE_PERIODS:].mean()))
    se = _se(_regressors(level, future), s2, cov)
    return se * placebo_factor(treated, control, periods) if placebos else se
