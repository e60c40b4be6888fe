"""How well the model predicts periods it has not seen: rolling-origin cross-validation.

Fold k of K fits on every period before its origin and forecasts the next `horizon`
periods; origins step back from the end of the data by `horizon` each, so the last fold
forecasts the final periods. Per fold: out-of-sample MAPE, NRMSE and 90% interval coverage;
per channel: how much its ROAS moves from fold to fold.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mmm.analysis.decomposition import channel_draws, fit_quality
from mmm.config import Config
from mmm.core.errors import ArgumentError
from mmm.data.dataset import MIN_PERIODS, ModelData
from mmm.data.lifts import LiftTest
from mmm.model.estimator import MarketingMixModel


def check_folds(data: ModelData, folds: int, horizon: int) -> int:
    """The first fold's number of training periods; an ArgumentError when the folds do not fit the data."""
    if folds < 2:
        raise ArgumentError("folds", f"must be at least 2, not {folds}")
    if horizon < 1:
        raise ArgumentError("horizon", f"must be at least 1, not {horizon}")
    first_origin = data.n_periods - folds * horizon
    if first_origin < MIN_PERIODS:
        raise ArgumentError(
            "folds",
            f"{folds} folds of {horizon} periods need {folds * horizon + MIN_PERIODS} periods of data ({MIN_PERIODS} to fit the "
            f"first fold on), and the data have {data.n_periods}; use fewer {{arg}} or a shorter horizon",
        )
    return first_origin


def rolling_origin(cfg: Config, data: ModelData, folds: int = 4, horizon: int = 13, lifts: list[LiftTest] | None = None) -> dict:
    """Cross-validation results: per-fold accuracy and per-channel ROAS stability (JSON-ready).

    A calibrated model is cross-validated calibrated: each fold uses the lift tests that end
    within its training periods.
    """
    first_origin = check_folds(data, folds, horizon)
    fold_results: list[dict] = []
    roas: dict[str, list[float]] = {ch: [] for ch in data.channels}
    for k in range(folds):
        origin = first_origin + k * horizon
        fold_lifts = [t for t in lifts or [] if pd.Timestamp(t.end) <= data.dates[origin - 1]]
        model = MarketingMixModel(cfg).fit(data.head(origin + horizon), holdout=horizon, lifts=fold_lifts)
        held = fit_quality(model).holdout
        assert held is not None
        fold_roas = channel_draws(model).roas.mean("sample")
        for ch in data.channels:
            roas[ch].append(float(fold_roas.sel(channel=ch)))
        fold_results.append(
            {
                "fold": k + 1,
                "train_periods": origin,
                "lift_tests": len(fold_lifts),
                "test_start": str(data.dates[origin].date()),
                "test_end": str(data.dates[origin + horizon - 1].date()),
                **{m: getattr(held, m) for m in ("mape", "nrmse", "coverage")},
                "converged": model.diagnostics is not None and model.diagnostics.converged,
            }
        )
    stability = {}
    for ch, values in roas.items():
        v = np.array(values)
        stability[ch] = {
            "roas_by_fold": values,
            "mean": float(v.mean()),
            "min": float(v.min()),
            "max": float(v.max()),
            "cv": float(v.std() / v.mean()) if v.mean() > 0 else None,
        }
    return {
        "folds": fold_results,
        "horizon": horizon,
        "mean": {m: float(np.mean([f[m] for f in fold_results])) for m in ("mape", "nrmse", "coverage")},
        "roas_stability": stability,
    }
