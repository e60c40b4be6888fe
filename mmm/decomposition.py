"""What each channel returned, with credible intervals, from a fitted model.

Incremental contribution is predicted revenue minus predicted revenue with the channel's
spend set to zero; in this additive model that is exactly the channel's media component.
All figures cover the training periods and are in currency (ROAS: currency per unit spent).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mmm.estimator import MarketingMixModel
from mmm.transforms import carryover_weights

INTERVAL = 0.90
MROAS_STEP = 0.01  # marginal ROAS: response to 1% more spend in every period
CARRYOVER_SHARE = 0.90  # "how long the effect lasts": periods until this share of it has come in


def interval(draws: np.ndarray, axis: int = 0) -> dict[str, float]:
    """Posterior mean and central 90% interval of draws along `axis`."""
    lo, hi = np.quantile(draws, [(1 - INTERVAL) / 2, (1 + INTERVAL) / 2], axis=axis)
    return {"mean": float(np.mean(draws, axis=axis)), "low": float(lo), "high": float(hi)}


@dataclass
class ChannelDraws:
    """Posterior draws (draw,) of one channel's returns over the training periods."""

    spend: float
    cost: float
    contribution: np.ndarray
    contribution_share: np.ndarray
    roas: np.ndarray
    roi: np.ndarray
    mroas: np.ndarray


def channel_draws(model: MarketingMixModel) -> dict[str, ChannelDraws]:
    """Contribution, share of target, ROAS, net ROI and marginal ROAS per channel, as draws."""
    d, n = model.data, model.n_train
    params = model.posterior_params()
    dates, spend, controls = d.dates[:n], d.spend[:n], d.controls[:n]
    base = model.predict_components(dates, spend, controls, params=params)["media"].sum(axis=1)
    bumped = model.predict_components(dates, spend * (1 + MROAS_STEP), controls, params=params)["media"].sum(axis=1)
    target_total = float(d.target[:n].sum())
    out = {}
    for i, ch in enumerate(model.config.channels):
        total = float(spend[:, i].sum())
        cost = total * (1 + ch.fee_rate) + ch.extra_cost
        contrib = base[:, i]
        out[ch.name] = ChannelDraws(
            spend=total,
            cost=cost,
            contribution=contrib,
            contribution_share=contrib / target_total,
            roas=contrib / total,
            roi=(contrib - cost) / cost,
            mroas=(bumped[:, i] - contrib) / (MROAS_STEP * total),
        )
    return out


def accuracy(actual: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """R², MAPE (fraction) and NRMSE (RMSE over the target's range) of a point prediction."""
    resid = actual - predicted
    ss_tot = float(np.sum((actual - actual.mean()) ** 2))
    span = float(actual.max() - actual.min())
    nonzero = actual != 0
    return {
        "r2": 1 - float(np.sum(resid**2)) / ss_tot if ss_tot > 0 else float("nan"),
        "mape": float(np.mean(np.abs(resid[nonzero] / actual[nonzero]))) if nonzero.any() else float("nan"),
        "nrmse": float(np.sqrt(np.mean(resid**2)) / span) if span > 0 else float("nan"),
    }


def fit_quality(model: MarketingMixModel, seed: int = 0) -> dict[str, dict[str, float]]:
    """In-sample accuracy, and on the holdout periods also 90% predictive-interval coverage."""
    d, n = model.data, model.n_train
    params = model.posterior_params()
    mean = model.in_sample_components(params)["mean"]
    point = mean.mean(axis=0)
    out = {"in_sample": accuracy(d.target[:n], point[:n])}
    if n < d.n_periods:
        sims = model.sample_observations(mean[:, n:], seed, params)
        lo, hi = np.quantile(sims, [(1 - INTERVAL) / 2, (1 + INTERVAL) / 2], axis=0)
        actual = d.target[n:]
        out["holdout"] = accuracy(actual, point[n:]) | {
            "coverage": float(np.mean((actual >= lo) & (actual <= hi))),
            "periods": int(d.n_periods - n),
        }
    return out


def carryover(model: MarketingMixModel) -> dict[str, dict]:
    """Per channel: carry-over weight of each lag (mean and 90% band; they sum to one) and the
    periods until 90% of a period's effect has come in (median and 90% range, the spend period counted)."""
    spec = model.config.model
    w = carryover_weights(spec.adstock, model.posterior_params(), spec.l_max, np)  # (draw, lag, channel)
    reach = (np.cumsum(w, axis=1) < CARRYOVER_SHARE - 1e-12).sum(axis=1) + 1
    lo, hi = np.quantile(w, [(1 - INTERVAL) / 2, (1 + INTERVAL) / 2], axis=0)
    mean = w.mean(axis=0)
    out = {}
    for i, ch in enumerate(model.channels):
        q = np.quantile(reach[:, i], [0.5, (1 - INTERVAL) / 2, (1 + INTERVAL) / 2], method="nearest")
        out[ch] = {
            "weights": mean[:, i].tolist(), "low": lo[:, i].tolist(), "high": hi[:, i].tolist(),
            "first_period_share": float(mean[0, i]),
            "periods_to_90": {"median": int(q[0]), "low": int(q[1]), "high": int(q[2])},
        }
    return out
