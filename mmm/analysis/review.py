"""The health review of a fit: every check of `review_checks` run on one model's draws, one verdict.

A model whose review is FAIL is not fit to advise: `mmm optimize` and `mmm scenario` refuse it
unless forced. REVIEW means read the named checks before planning.
"""

from __future__ import annotations

import numpy as np

from mmm.analysis import review_checks as checks
from mmm.analysis.decomposition import ChannelDraws, FitQuality
from mmm.analysis.residuals import residual_trend
from mmm.core.constants import CHANNEL, DATE, GEO, SAMPLE
from mmm.core.review import Check, Review
from mmm.data.dataset import PERIODS_PER_YEAR, period_word
from mmm.model.estimator import MarketingMixModel

REVIEW_SEED = 1  # the posterior predictive draws of the review (fixed: same model, same review)


def review_fit(model: MarketingMixModel, params: dict[str, np.ndarray], quality: FitQuality, draws: ChannelDraws) -> Review:
    """Run every check on a fitted model, reusing the draws the summary computed."""
    assert model.idata is not None and model.diagnostics is not None
    d, n = model.diagnostics, model.n_train
    train = model.train
    fitted = {DATE: slice(0, n)}
    comps = quality.components.isel(fitted).sum(GEO)
    non_media = (comps["mean"] - comps["media"].sum(CHANNEL)).transpose(SAMPLE, DATE)
    actual = train.target_series()
    per_geo = quality.components["mean"].isel(fitted)
    replicated = model.sample_observations(per_geo, REVIEW_SEED, params).sum(GEO).transpose(SAMPLE, DATE).values
    const = model.idata.constant_data
    prior_mu, prior_sigma = const["roas_prior_mu"], const["roas_prior_sigma"]
    roas = draws.roas.transpose(SAMPLE, CHANNEL)
    words = model.config.outcome
    money = draws.roas if words.is_money else draws.value_roas
    sizes = model.idata.posterior.sizes
    unit = period_word(train.frequency)
    fit = quality.in_sample
    found: list[Check] = [
        checks.convergence(d.max_rhat, min(d.min_ess_bulk, d.min_ess_tail), d.divergences, int(sizes["chain"] * sizes["draw"])),
        checks.baseline(non_media, words.noun, words.return_label),
        checks.posterior_predictive(actual, replicated),
        checks.goodness_of_fit(fit.r2, fit.mape, unit, fit.r2_attainable, float(np.mean(actual)), words.noun),
    ]
    if quality.by_geo is not None:  # a geo model: each geo's own fit
        by_geo = quality.by_geo.items()
        found.append(checks.geo_fit({g: a.r2 for g, a in by_geo}, unit, {g: a.r2_attainable for g, a in by_geo}))
    if quality.holdout is not None:
        h = quality.holdout
        found.append(checks.holdout(h.coverage, h.mape, quality.in_sample.mape, h.periods, unit))
    found += [
        checks.prior_posterior_shift(roas, prior_mu, prior_sigma, words.return_label),
        checks.roas_consistency(roas, prior_mu, prior_sigma, words.return_label),
        # in money only: for conversions on their value, and not at all without one
        *([checks.implausible_roas(money, draws.spend, None if words.is_money else words.noun)] if money is not None else []),
        checks.high_variance(roas, prior_sigma, draws.spend, words.return_label),
        checks.media_control_correlation(train.spend.sum(GEO), train.controls.mean(GEO)),
        _residual_trend(actual - quality.predicted.values[:n], PERIODS_PER_YEAR[train.frequency], model.config.model.trend),
    ]
    return Review.of(found)


def _residual_trend(residuals: np.ndarray, periods_per_year: float, trend: str) -> Check:
    """Slow structure left in the residuals (period,): the baseline bends where the trend cannot follow."""
    found = residual_trend(residuals, periods_per_year)
    flagged = found.p_value < checks.RESIDUAL_TREND_P
    advice = "try model.trend: flexible" if trend != "flexible" else "add the control that explains the drift (a price change, a new store)"
    message = (
        "No slow drift is left in what the model does not explain."
        if not flagged
        else f"The outcome drifts slowly in ways the model does not follow ({found.share:.0%} of the unexplained variation): "
        f"the media may be credited with it; {advice}."
    )
    return Check(
        name="residual_trend",
        status="REVIEW" if flagged else "PASS",
        value=found.p_value,
        threshold=checks.RESIDUAL_TREND_P,
        message=message,
    )
