"""Prior and posterior predictive checks: does the model produce data that look like the real thing?"""

from __future__ import annotations

import io

import numpy as np

from mmm.decomposition import INTERVAL
from mmm.estimator import MarketingMixModel


def _check(actual: np.ndarray, replicated: np.ndarray) -> dict:
    """Share of periods inside the 90% band, and p-values P(statistic of simulated >= actual)."""
    lo, hi = np.quantile(replicated, [(1 - INTERVAL) / 2, (1 + INTERVAL) / 2], axis=0)
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
    n = model.n_train
    actual = model.data.target[:n]
    params = model.posterior_params()
    posterior = model.sample_observations(model.in_sample_components(params)["mean"][:, :n], seed, params)
    return {
        "dates": [str(d.date()) for d in model.data.dates[:n]],
        "actual": actual.tolist(),
        "prior": _check(actual, model.prior_predictive(prior_draws, seed)),
        "posterior": _check(actual, posterior),
    }


def plot_checks(checks: dict, currency: str) -> bytes:
    """PNG: actual target against the prior and posterior predictive 90% bands."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    dates = pd.to_datetime(checks["dates"])
    fig, axes = plt.subplots(2, 1, figsize=(10, 6.5), sharex=True)
    for ax, key, title in zip(axes, ("prior", "posterior"), ("Before seeing the data (priors only)", "After fitting (posterior)")):
        c = checks[key]
        ax.fill_between(dates, c["band"]["low"], c["band"]["high"], color="tab:blue", alpha=0.25, label="90% of simulated data")
        ax.plot(dates, c["band"]["median"], color="tab:blue", lw=1, label="median simulated")
        ax.plot(dates, checks["actual"], color="black", lw=1.2, label="actual")
        ax.set_title(f"{title}: {c['coverage']:.0%} of periods inside the band")
        ax.set_ylabel(currency)
        ax.grid(alpha=0.3)
    axes[0].legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()
