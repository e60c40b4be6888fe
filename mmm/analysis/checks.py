"""Prior and posterior predictive checks: does the model produce data that look like the real thing?"""

from __future__ import annotations

import numpy as np

from mmm.core.constants import GEO
from mmm.core.stats import QUANTILES
from mmm.model.estimator import MarketingMixModel


def _check(actual: np.ndarray, replicated: np.ndarray) -> dict:
    """Share of periods inside the 90% band, and p-values P(statistic of simulated >= actual)."""
    lo, hi = np.quantile(replicated, QUANTILES, axis=0)
    return {
        "coverage": float(np.mean((actual >= lo) & (actual <= hi))),
        "p_value_mean": float(np.mean(replicated.mean(axis=1) >= actual.mean())),
        "p_value_sd": float(np.mean(replicated.std(axis=1) >= actual.std())),
        "band": {"low": lo.tolist(), "high": hi.tolist(), "median": np.median(replicated, axis=0).tolist()},
    }


def predictive_checks(model: MarketingMixModel, prior_draws: int = 500, seed: int = 0) -> dict:
    """Prior and posterior predictive checks over the training periods (JSON-ready).

    A p-value near 0 or 1 means the model's simulated data are systematically off in that
    respect; the prior check should be wide (priors allow plausible data), the posterior check
    tight with coverage near 90%.
    """
    train = model.train
    actual = train.target_series()
    params = model.posterior_params()
    mean = model.predict_components(train.spend, train.controls, params=params)["mean"]
    posterior = model.sample_observations(mean, seed, params).sum(GEO).transpose("sample", "date").values
    prior = model.prior_predictive(prior_draws, seed).transpose("sample", "date").values
    return {
        "dates": [str(d.date()) for d in train.dates],
        "actual": actual.tolist(),
        "prior": _check(actual, prior),
        "posterior": _check(actual, posterior),
    }
