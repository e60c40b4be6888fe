"""R-hat and effective sample size of every sampled quantity at once.

The definitions are those of Vehtari et al. (2021, "Rank-normalization, folding, and
localization: an improved R-hat"), as ArviZ computes them: rank-normalised split R-hat (the
larger of the bulk and the folded, tail, version), bulk ESS of the rank-normalised split
chains, and tail ESS (the smaller of the ESS of the 5% and 95% quantile indicators). ArviZ
loops over quantities in Python; here every quantity of every parameter is one column of one
array, so a convergence check while the sampler runs (`draws: auto`) costs milliseconds, not
a fifth of a second of a core the chains are using.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import numpy as np
from scipy.fft import next_fast_len
from scipy.special import ndtri
from scipy.stats import rankdata

BLOM_OFFSET = 3 / 8  # fractional offset of ranks before the normal quantile (Blom 1958)
TAIL_PROBS = (0.05, 0.95)


class Convergence(NamedTuple):
    """Per parameter (its own shape, without chain and draw): R-hat, bulk ESS and tail ESS (draws)."""

    rhat: dict[str, np.ndarray]
    ess_bulk: dict[str, np.ndarray]
    ess_tail: dict[str, np.ndarray]


def convergence(draws: Mapping[str, np.ndarray]) -> Convergence:
    """R-hat, bulk and tail ESS of each parameter's (chain, draw, *shape) draws.

    A quantity with a missing value, or fewer than 4 draws per chain, gets NaN for all three
    (R-hat also with a single chain: one chain cannot show that chains agree).
    """
    names = list(draws)
    arrays = [np.asarray(draws[n], dtype=float) for n in names]
    chains, n_draws = arrays[0].shape[:2]
    columns = np.concatenate([a.reshape(chains, n_draws, -1) for a in arrays], axis=2)  # (chain, draw, quantity)
    rhat, bulk, tail = _all_columns(columns)
    out: tuple[dict[str, np.ndarray], ...] = ({}, {}, {})
    start = 0
    for name, a in zip(names, arrays, strict=True):
        size = int(np.prod(a.shape[2:], dtype=int))
        for target, values in zip(out, (rhat, bulk, tail), strict=True):
            target[name] = values[start : start + size].reshape(a.shape[2:])
        start += size
    return Convergence(*out)


def _all_columns(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """R-hat, bulk ESS, tail ESS of each column of (chain, draw, quantity) draws."""
    chains, n_draws, k = x.shape
    nan = np.full(k, np.nan)
    if n_draws < 4 or k == 0:
        return nan, nan.copy(), nan.copy()
    valid = ~np.isnan(x).any(axis=(0, 1))
    x = np.where(valid, x, 0.0)  # invalid columns are computed on zeros and reported as NaN
    split = _split_chains(x)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = _z_scale(split)
        folded = _z_scale(np.abs(split - np.median(split.reshape(-1, k), axis=0)))
        rhat = np.maximum(_rhat(z), _rhat(folded)) if chains > 1 else nan.copy()
        bulk = _ess(z)
        low, high = (np.quantile(x.reshape(-1, k), p, axis=0) for p in TAIL_PROBS)  # R's type 7, as ArviZ
        tail = np.minimum(_ess(_split_chains((x <= low).astype(float))), _ess(_split_chains((x <= high).astype(float))))
    return np.where(valid, rhat, np.nan), np.where(valid, bulk, np.nan), np.where(valid, tail, np.nan)


def _split_chains(x: np.ndarray) -> np.ndarray:
    """Each chain's first and last halves as two chains: (2 x chain, draw // 2, quantity)."""
    half = x.shape[1] // 2
    return np.concatenate([x[:, :half], x[:, x.shape[1] - half :]], axis=0)


def _z_scale(x: np.ndarray) -> np.ndarray:
    """Each column's draws replaced by the normal quantiles of their ranks over all chains (ties averaged)."""
    chains, n_draws, k = x.shape
    ranks = rankdata(x.reshape(-1, k), method="average", axis=0)
    size = chains * n_draws
    return ndtri((ranks - BLOM_OFFSET) / (size - 2 * BLOM_OFFSET + 1)).reshape(x.shape)


def _rhat(x: np.ndarray) -> np.ndarray:
    """Classic R-hat of each column: between- against within-chain variance."""
    n_draws = x.shape[1]
    between = n_draws * np.var(x.mean(axis=1), axis=0, ddof=1)
    within = np.var(x, axis=1, ddof=1).mean(axis=0)
    return np.sqrt((between / within + n_draws - 1) / n_draws)


def _ess(x: np.ndarray) -> np.ndarray:
    """Effective sample size of each column: autocorrelations truncated by Geyer's initial monotone sequence."""
    chains, n_draws, k = x.shape
    constant = (x.max(axis=(0, 1)) - x.min(axis=(0, 1))) < np.finfo(float).resolution
    centred = x - x.mean(axis=1, keepdims=True)
    m = next_fast_len(2 * n_draws)
    spectrum = np.fft.rfft(centred, n=m, axis=1)
    spectrum *= np.conjugate(spectrum)
    acov = np.fft.irfft(spectrum, n=m, axis=1)[:, :n_draws] / n_draws  # (chain, lag, quantity)
    mean_var = acov[:, 0].mean(axis=0) * n_draws / (n_draws - 1.0)
    var_plus = mean_var * (n_draws - 1.0) / n_draws
    if chains > 1:
        var_plus = var_plus + np.var(x.mean(axis=1), axis=0, ddof=1)
    rho = 1.0 - (mean_var - acov.mean(axis=0)) / var_plus  # (lag, quantity)
    ess = np.array([_geyer(rho[:, j], chains * n_draws) for j in range(k)])
    return np.where(constant, float(chains * n_draws), ess)


def _geyer(rho: np.ndarray, size: int) -> float:
    """ESS of `size` draws from one column's autocorrelations by lag (Geyer's initial positive, then monotone, sequence)."""
    n = rho.size
    kept = np.zeros(n)
    kept[0] = even = 1.0
    kept[1] = odd = rho[1]
    t = 1
    while t < n - 3 and even + odd > 0.0:
        even, odd = rho[t + 1], rho[t + 2]
        if even + odd >= 0:
            kept[t + 1], kept[t + 2] = even, odd
        t += 2
    last = t - 2
    if even > 0:
        kept[last + 1] = even
    t = 1
    while t <= last - 2:
        if kept[t + 1] + kept[t + 2] > kept[t - 1] + kept[t]:
            kept[t + 1] = kept[t + 2] = (kept[t - 1] + kept[t]) / 2.0
        t += 2
    tau = -1.0 + 2.0 * np.sum(kept[: last + 1]) + np.sum(kept[last + 1 : last + 2])
    tau = max(tau, 1 / np.log10(size))
    return float("nan") if np.isnan(kept).any() else size / tau
