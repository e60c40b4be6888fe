"""Geo test designs: which regions to treat and which to keep as control, balanced on their history.

A geo test switches a channel off in the treated regions for the test's weeks; the other regions
are the control, and `mmm analyze-test` measures the lift by difference-in-differences of the
treated regions' total against the control regions' total. The standard error that method will give
is known before the test from the regions' outcome over the fitted periods
(`did.expected_lift_se`, with its placebo tests in the history): treated regions whose history the
control regions track closely measure precisely.

The split makes the smallest ROAS the test can detect as small as it can be: the standard error per
unit of money withheld (ranked by the regression's error, which is smooth from one split to the next;
the split's stated error counts the placebo tests too). Regions are added, dropped and swapped one at a time from a start of every
other region by size, while the treated regions hold at most half the market's outcome (the control
regions carry the counterfactual) and at least MIN_CONTROL_GEOS regions stay in the control.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mmm.core.constants import CHANNEL, DATE, GEO
from mmm.core.did import expected_lift_se
from mmm.model.estimator import MarketingMixModel

MAX_TREATED_SHARE = 0.5  # of the market's outcome over the fitted periods
MIN_CONTROL_GEOS = 2
MAX_ROUNDS = 200  # improving moves; each one lowers the score, so the search ends well before on real data


@dataclass(frozen=True)
class GeoSplit:
    """Treated and control regions for a geo test of one channel."""

    treated: list[str]
    control: list[str]
    spend_share: float  # treated regions' share of the channel's spend over the fitted periods
    outcome_share: float  # their share of the outcome
    lift_se: float  # standard error of the measured lift, currency over the measured periods


def geo_split(model: MarketingMixModel, channel: str, periods: int) -> GeoSplit | None:
    """The balanced split for a test of `channel` measured over `periods` periods (the test and its
    carry-over), or None when the data hold too few regions or none spends on the channel."""
    train = model.train
    geos = list(train.geos)
    outcome = np.asarray(train.target.transpose(DATE, GEO).values, dtype=float)
    spend = np.asarray(train.spend.sel({CHANNEL: channel}).transpose(DATE, GEO).values, dtype=float)
    mask = _search(outcome, spend, periods)
    if mask is None:
        return None
    return GeoSplit(
        treated=[g for g, t in zip(geos, mask) if t],
        control=[g for g, t in zip(geos, mask) if not t],
        spend_share=float(spend[:, mask].sum() / spend.sum()),
        outcome_share=float(outcome[:, mask].sum() / outcome.sum()),
        lift_se=_se(outcome, mask, periods),
    )


def _search(outcome: np.ndarray, spend: np.ndarray, periods: int) -> np.ndarray | None:
    """The treated regions (a mask over geos) with the smallest standard error per unit of money withheld."""
    n_geos = outcome.shape[1]
    if n_geos < 1 + MIN_CONTROL_GEOS or spend.sum() <= 0:
        return None
    kpi, money = outcome.sum(axis=0), spend.sum(axis=0)

    def score(mask: np.ndarray) -> float:
        feasible = mask.any() and (~mask).sum() >= MIN_CONTROL_GEOS and kpi[mask].sum() <= MAX_TREATED_SHARE * kpi.sum()
        if not feasible or money[mask].sum() <= 0:
            return math.inf
        return _se(outcome, mask, periods, placebos=False) / money[mask].sum()

    by_size = np.argsort(-kpi, kind="stable")
    mask = np.zeros(n_geos, dtype=bool)
    mask[by_size[1::2]] = True
    if not math.isfinite(score(mask)):
        mask = np.zeros(n_geos, dtype=bool)
        mask[int(np.argmax(money / np.maximum(kpi, 1e-12)))] = True  # the region spending most for its size
    best = score(mask)
    for _ in range(MAX_ROUNDS):
        moves = [[i] for i in range(n_geos)] + [[int(i), int(j)] for i in np.flatnonzero(mask) for j in np.flatnonzero(~mask)]
        scored = [(score(_flipped(mask, m)), k) for k, m in enumerate(moves)]
        value, k = min(scored)
        if not value < best:
            break
        mask, best = _flipped(mask, moves[k]), value
    return mask if math.isfinite(best) else None


def _flipped(mask: np.ndarray, geos: list[int]) -> np.ndarray:
    out = mask.copy()
    out[geos] = ~out[geos]
    return out


def _se(outcome: np.ndarray, mask: np.ndarray, periods: int, placebos: bool = True) -> float:
    return expected_lift_se(outcome[:, mask].sum(axis=1), outcome[:, ~mask].sum(axis=1), periods, placebos)
