"""Calibrate a model with lift tests, and say how each test squares with the data.

Two fits: first on the data alone, to predict what each test should have measured; a test
whose measurement the model cannot reconcile (two-sided posterior predictive p-value below
0.05) is flagged and left out rather than silently averaged in; then a fit with the
remaining tests as observations of each channel's incremental effect.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import norm

from mmm.config import Config
from mmm.core.stats import INTERVAL, Interval
from mmm.data.dataset import ModelData
from mmm.data.lifts import LiftTest
from mmm.model.estimator import MarketingMixModel

P_VALUE_FLAG = 0.05
Z90 = float(norm.ppf(0.5 + INTERVAL / 2))  # half-width of a normal 90% interval, in standard errors


def predictive_p_value(predicted: np.ndarray, measured: float, se: float, seed: int = 0) -> float:
    """Two-sided p-value of the measured lift under the model's predictive distribution
    (predicted lift draws plus the test's own measurement error)."""
    rng = np.random.default_rng(seed)
    replicated = predicted + rng.normal(0.0, se, size=predicted.shape)
    below = float(np.mean(replicated <= measured))
    return min(1.0, 2 * min(below, 1 - below))


@dataclass
class Calibration:
    """The calibrated model, the data-only model it started from, and the per-test report."""

    model: MarketingMixModel
    uncalibrated: MarketingMixModel
    report: list[dict]


def fit_calibrated(cfg: Config, data: ModelData, tests: list[LiftTest], holdout: int = 0) -> Calibration:
    """Fit on the data alone, flag irreconcilable tests, refit with the rest; report per test
    the measured lift against the model's prediction before and after calibration."""
    before = MarketingMixModel(cfg).fit(data, holdout=holdout)
    prior_draws = before.predict_lifts(tests)
    p_values = [predictive_p_value(prior_draws[:, i], t.lift, t.lift_se, seed=i) for i, t in enumerate(tests)]
    used = [t for t, p in zip(tests, p_values) if p >= P_VALUE_FLAG]
    # the form chosen on the data alone (under 'auto') is kept for the calibrated fit
    after = MarketingMixModel(before.config).fit(data, holdout=holdout, lifts=used) if used else before
    if after is not before:
        after.fit_seconds += before.fit_seconds
        after.choice = before.choice
    post_draws = after.predict_lifts(tests)
    report = []
    for i, (t, p) in enumerate(zip(tests, p_values)):
        flagged = p < P_VALUE_FLAG
        report.append(
            {
                "test": t.to_dict(),
                "measured": {"mean": t.lift, "low": t.lift - Z90 * t.lift_se, "high": t.lift + Z90 * t.lift_se},
                "before": Interval.of(prior_draws[:, i]).model_dump(),
                "after": Interval.of(post_draws[:, i]).model_dump(),
                "p_value": p,
                "flagged": flagged,
                "used": not flagged,
                "verdict": (
                    f"the model cannot reconcile this test with the data (p = {p:.3f}); it was left out. "
                    "Check the test's dates, spend change and measurement before using it"
                    if flagged
                    else "consistent with the data; used to calibrate"
                ),
            }
        )
    return Calibration(after, before, report)
