"""Adstock (carry-over) and saturation (diminishing returns), written once.

Each function takes the array module as `xp` (numpy, or pytensor.tensor inside the PyMC
model), so the model, the posterior decomposition, the simulator and the optimiser all run
the very same response curve. Parameters have shape (..., channel): a leading draw axis is
allowed, and results gain a time axis before the channel axis, i.e. (..., time, channel).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def lagged(spend: np.ndarray, l_max: int, history: np.ndarray | None = None) -> np.ndarray:
    """Stack spend with its lags: out[t, l, c] = spend[t - l, c].

    `history` holds the periods just before `spend` (oldest first) so carry-in from them
    counts; without it, spend before the first period is taken as zero.
    """
    spend = np.asarray(spend, dtype=float)
    n, c = spend.shape
    prior = np.zeros((l_max - 1, c)) if history is None else np.asarray(history, dtype=float)[-(l_max - 1) :]
    if len(prior) < l_max - 1:
        prior = np.vstack([np.zeros((l_max - 1 - len(prior), c)), prior])
    full = np.vstack([prior, spend]) if l_max > 1 else spend
    return np.stack([full[l_max - 1 - lag : l_max - 1 - lag + n] for lag in range(l_max)], axis=1)


def geometric_weights(alpha: Any, l_max: int) -> Any:
    """Carry-over weights alpha**lag, normalised to sum to one: shape (..., lag, channel)."""
    lags = np.arange(l_max, dtype=float)[:, None]
    w = alpha[..., None, :] ** lags
    return w / w.sum(axis=-2, keepdims=True)


def weibull_weights(shape: Any, scale: Any, l_max: int, xp: Any) -> Any:
    """Carry-over weights from the Weibull survival curve exp(-(lag/scale)**shape), normalised.

    Unlike geometric decay it can hold an effect near full strength for a few periods
    before it fades (TV, outdoor).
    """
    lags = np.arange(l_max, dtype=float)[:, None]
    w = xp.exp(-((lags / scale[..., None, :]) ** shape[..., None, :]))
    return w / w.sum(axis=-2, keepdims=True)


def adstock(lagged_spend: Any, weights: Any) -> Any:
    """Carried-over spend: sum over lags of lagged spend (time, lag, channel) times weights (..., lag, channel)."""
    return (lagged_spend * weights[..., None, :, :]).sum(axis=-2)


def hill(x: Any, half_saturation: Any, slope: Any | None, xp: Any) -> Any:
    """Hill curve x**s / (x**s + K**s), from 0 at no spend towards 1; s = 1 when slope is None."""
    k = half_saturation[..., None, :]
    if slope is None:
        return x / (x + k)
    s = slope[..., None, :]
    safe = xp.where(x > 0, x, 1.0)  # keeps the gradient of 0**s finite
    return xp.where(x > 0, 1.0 / (1.0 + (k / safe) ** s), 0.0)


def logistic(x: Any, lam: Any, xp: Any) -> Any:
    """Logistic saturation (1 - exp(-lam x)) / (1 + exp(-lam x)), 0 at no spend towards 1."""
    e = xp.exp(-lam[..., None, :] * x)
    return (1.0 - e) / (1.0 + e)


def saturation_slope(kind: str, x: Any, params: dict[str, Any], xp: Any) -> Any:
    """Derivative of `saturate` with respect to carried-over spend x, same shapes as saturate."""
    if kind == "hill":
        k = params["half_saturation"][..., None, :]
        slope = params.get("hill_slope")
        if slope is None:
            return k / (x + k) ** 2
        s = slope[..., None, :]
        safe = xp.maximum(x, 1e-12)  # the S-curve's slope at exactly zero spend is 0 or infinite
        return s * safe ** (s - 1) * k**s / (safe**s + k**s) ** 2
    lam = params["logistic_lam"][..., None, :]
    e = xp.exp(-lam * x)
    return 2 * lam * e / (1 + e) ** 2


def carryover_weights(kind: str, params: dict[str, Any], l_max: int, xp: Any) -> Any:
    """Adstock weights (..., lag, channel) for the configured adstock kind."""
    if kind == "geometric":
        return geometric_weights(params["adstock_alpha"], l_max)
    return weibull_weights(params["adstock_shape"], params["adstock_scale"], l_max, xp)


def saturate(kind: str, x: Any, params: dict[str, Any], xp: Any) -> Any:
    """Saturated carried-over spend in [0, 1) for the configured saturation kind."""
    if kind == "hill":
        return hill(x, params["half_saturation"], params.get("hill_slope"), xp)
    return logistic(x, params["logistic_lam"], xp)


def media_response(
    lagged_scaled_spend: Any, params: dict[str, Any], adstock_kind: str, saturation_kind: str, l_max: int, xp: Any
) -> Any:
    """Saturated adstock (..., time, channel) of spend given in units of each channel's typical spend."""
    weights = carryover_weights(adstock_kind, params, l_max, xp)
    return saturate(saturation_kind, adstock(lagged_scaled_spend, weights), params, xp)
