"""The checks of a fit's health review, each a pure function of posterior draws and data.

Google Meridian's review (`meridian/analysis/review`) is the floor. Where mmm differs:
- convergence passes only at R-hat <= 1.01, bulk and tail ESS >= 400 and no divergence (Meridian
  passes R-hat < 1.2); it fails at R-hat >= 1.2 or when over 10% of the transitions diverged
  (Meridian fails only at R-hat >= 10): draws from chains that disagree that much are not a posterior;
- goodness of fit fails when R² <= 0 (the model predicts worse than the average week; Meridian only
  asks for a review) and asks for one below 0.5; a holdout is checked when one was kept;
- prior versus posterior is measured by how much the data narrowed and moved each channel's ROAS
  (on the log scale), not by Meridian's bootstrap test, which flags only a posterior identical to
  its prior and so misses channels the data barely inform;
- media-control correlation asks for a review above |r| = 0.7, not Meridian's 0.1, which fires on
  nearly any weekly data; 0.7 marks the pairs whose effects the model can trade against each other;
- residual trend (slow structure left in the residuals) is ours: a bending baseline otherwise goes
  to the media.
"""

from __future__ import annotations

import math

import numpy as np
import xarray as xr
from scipy import stats

from mmm.core.constants import CHANNEL, CONTROL, DATE, ESS_MIN, RHAT_MAX, SAMPLE
from mmm.core.review import Check, Status

RHAT_FAIL = 1.2
DIVERGENT_FAIL = 0.10  # share of post-warm-up transitions
BASELINE_REVIEW, BASELINE_FAIL = 0.2, 0.8  # probability that the baseline's total is negative (Meridian)
PPP_FAIL = 0.05  # two-sided Bayesian posterior predictive p-value of the total outcome (Meridian)
R2_REVIEW, R2_FAIL = 0.5, 0.0
HOLDOUT_COVERAGE_REVIEW = 0.5  # share of held-out periods inside the 90% band
HOLDOUT_MAPE_FACTOR, HOLDOUT_MAPE_FLOOR = 2.0, 0.15
PRIOR_WIDTH_KEPT = 0.75  # posterior interval still this share of the prior's width...
PRIOR_MEDIAN_MOVED = 0.5  # ...and its median moved less than this many prior sds: the data said little
PRIOR_TAILS = (0.01, 0.99)  # a posterior mean beyond these prior quantiles is inconsistent with the prior (Meridian)
ROAS_HIGH, ROAS_LOW = 20.0, 0.5  # implausible spend-weighted / reciprocal-spend-weighted mean ROAS (Meridian)
VARIANCE_RATIO = 1.0  # spend-weighted posterior relative width over the prior's (Meridian)
CONTROL_CORRELATION = 0.7
RESIDUAL_TREND_P = 0.01
_Z90 = 1.6448536269514722


def _names(items: list[str]) -> str:
    return ", ".join(items)


def convergence(max_rhat: float, min_ess: float, divergences: int, transitions: int) -> Check:
    """Do the chains agree and give enough effective draws (R-hat, ESS, divergent transitions)?"""
    share = divergences / transitions if transitions else 0.0
    status: Status = "PASS"
    if max_rhat >= RHAT_FAIL or share > DIVERGENT_FAIL:
        status = "FAIL"
    elif not (max_rhat <= RHAT_MAX and min_ess >= ESS_MIN and divergences == 0):
        status = "REVIEW"
    rhat = f"{max_rhat:.3f}" if np.isfinite(max_rhat) else "n/a (one chain)"
    found = f"max R-hat {rhat}, min ESS {min_ess:.0f}, {divergences} divergent transitions"
    advice = {
        "PASS": "The sampler converged: the intervals can be read as they are.",
        "REVIEW": "The sampler has not fully converged: figures may move on a refit. Raise sampler.draws and sampler.tune "
        "(or sampler.max_draws under draws: auto) before planning with this model.",
        "FAIL": f"The chains disagree (R-hat at or above {RHAT_FAIL}) or too many transitions diverged: the figures are not a "
        "posterior. Refit with more tuning (sampler.tune), sampler.target_accept: 0.95, or a simpler model.",
    }[status]
    return Check(name="convergence", status=status, value=max_rhat, threshold=RHAT_MAX, message=f"{advice} ({found})")


def baseline(non_media: xr.DataArray, noun: str = "sales", label: str = "ROAS") -> Check:
    """How likely the outcome without media (baseline, trend, seasonality, controls) is negative.

    non_media: (sample, date) posterior draws over the fitted periods, in the outcome's unit; noun: what the
    outcome is called ("sales", "conversions"); label: what its per-spend ratio is called ("ROAS").
    """
    prob = float((non_media.sum(DATE) < 0).mean())
    negative_weeks = int((non_media.mean(SAMPLE) < 0).sum())
    status: Status = "FAIL" if prob > BASELINE_FAIL else "REVIEW" if prob >= BASELINE_REVIEW or negative_weeks else "PASS"
    if status == "PASS":
        message = f"The baseline (what {noun} would be without media) stays positive."
    else:
        message = (
            f"The baseline is negative with probability {prob:.0%} overall and on average in {negative_weeks} period(s): "
            f"the media are credited with more {noun} than the business had. Add the controls that drive {noun} (price, promotions, "
            f"season), lower the {label} priors, or try model.trend: flexible."
        )
    return Check(name="baseline", status=status, value=prob, threshold=BASELINE_REVIEW, message=message)


def posterior_predictive(actual: np.ndarray, replicated: np.ndarray) -> Check:
    """Two-sided posterior predictive p-value of the total outcome: is the actual total typical of the model's data?

    actual: (date,) currency; replicated: (sample, date) posterior predictive draws.
    """
    totals = replicated.sum(axis=1)
    centre = totals.mean()
    ppp = float(np.mean(np.abs(totals - centre) >= abs(actual.sum() - centre)))
    ok = ppp >= PPP_FAIL
    message = (
        "The model's simulated data have totals like the actual data."
        if ok
        else "The actual total lies outside what the model's own simulations produce: the model is systematically off. "
        "Check the data for breaks, add missing controls, or try model.likelihood: student_t."
    )
    return Check(name="posterior_predictive", status="PASS" if ok else "FAIL", value=ppp, threshold=PPP_FAIL, message=message)


def goodness_of_fit(
    r2: float | None,
    mape: float | None,
    unit: str = "week",
    attainable: float | None = None,
    per_period: float | None = None,
    noun: str = "sales",
) -> Check:
    """In-sample R² (with MAPE in the message); `unit` is the data's period in words (week, day).

    For an outcome that counts events, `attainable` is the most R² a model can reach (`stats.accuracy`) and
    `per_period` the average count: R² is then judged against what is there to explain, as a few
    conversions a week vary mostly by chance, which no model and no control can follow.
    """
    if r2 is None or not math.isfinite(r2):
        return Check(
            name="goodness_of_fit", status="REVIEW", value=None, threshold=R2_REVIEW, message="R² is undefined: the target is flat."
        )
    reachable = attainable if attainable is not None and math.isfinite(attainable) else None
    bar = R2_REVIEW * (1.0 if reachable is None else reachable)
    status: Status = "FAIL" if r2 <= R2_FAIL else "REVIEW" if r2 < bar else "PASS"
    error = f"; the error per {unit} averages {mape:.0%}" if mape is not None and math.isfinite(mape) else ""
    chance = ""
    if reachable is not None and r2 < R2_REVIEW:
        about = (
            f"about {per_period:,.0f} {noun} a {unit}"
            if per_period is not None and per_period >= 10
            else f"about {per_period:.2g} {noun} a {unit}"
            if per_period is not None
            else f"small numbers of {noun} a {unit}"
        )
        reach = (
            f", so the model explains {r2 / reachable:.0%} of what any model can"
            if r2 < reachable
            else ", so the model follows all that any model can"
        )
        chance = f". With {about}, chance makes up {1 - reachable:.0%} of that variation, which no model can follow{reach}"
    message = {
        "PASS": f"The model explains {r2:.0%} of the {unit}-to-{unit} variation{chance}{error}.",
        "REVIEW": f"The model explains only {r2:.0%} of the {unit}-to-{unit} variation{chance}{error}: add the controls that move {noun} "
        "(promotions, price, holidays) before trusting channel figures.",
        "FAIL": f"The model predicts worse than the average {unit} (R² {r2:.2f}){error}: it is not fit to advise. Check the data and config.",
    }[status]
    return Check(name="goodness_of_fit", status=status, value=r2, threshold=bar, message=message)


def geo_fit(r2_by_geo: dict[str, float | None], unit: str = "week", attainable_by_geo: dict[str, float | None] | None = None) -> Check:
    """A geo model's fit of each geo: REVIEW names the geos whose own R² is under R2_REVIEW (never FAIL: the total may still advise).

    For counted outcomes, `attainable_by_geo` holds each geo's most reachable R² (`goodness_of_fit`): the bar is then
    R2_REVIEW of it.
    """
    known = {g: r2 for g, r2 in r2_by_geo.items() if r2 is not None and math.isfinite(r2)}
    reach = {g: a for g, a in (attainable_by_geo or {}).items() if a is not None and math.isfinite(a)}
    weak = sorted((g for g, r2 in known.items() if r2 < R2_REVIEW * reach.get(g, 1.0)), key=lambda g: known[g])
    worst = min(known.values()) if known else None
    if not weak:
        if worst is None:
            message = ""
        elif reach:
            message = (
                f"The model follows every geo's {unit}-to-{unit} variation as far as chance in counting allows (in each, at least "
                "half of what is left once that chance is taken out)."
            )
        else:
            message = f"The model follows every geo's {unit}-to-{unit} variation (R² at least {worst:.0%} in each)."
        return Check(name="geo_fit", status="PASS", value=worst, threshold=R2_REVIEW, message=message or "Every geo's outcome is flat.")
    named = ", ".join(f"{g} ({known[g]:.0%}" + (f" of at most {reach[g]:.0%}" if g in reach else "") + ")" for g in weak)
    message = (
        f"The model explains little of the {unit}-to-{unit} variation in {named}: read those geos' channel figures with care, "
        "and add the local drivers (promotions, store openings, weather) if you have them."
    )
    return Check(name="geo_fit", status="REVIEW", value=worst, threshold=R2_REVIEW, message=message)


def holdout(coverage: float, mape: float | None, fit_mape: float | None, periods: int, unit: str = "week") -> Check:
    """Forecast accuracy on the held-out last periods."""
    limit = max(HOLDOUT_MAPE_FACTOR * (fit_mape or 0.0), HOLDOUT_MAPE_FLOOR)
    bad_mape = mape is not None and math.isfinite(mape) and mape > limit
    bad = coverage < HOLDOUT_COVERAGE_REVIEW or bad_mape
    error = f" with an average error of {mape:.0%}" if mape is not None and math.isfinite(mape) else ""
    message = (
        f"On the {periods} held-out periods the model forecast{error}; {coverage:.0%} fell inside its 90% band."
        if not bad
        else f"On the {periods} held-out periods the forecast missed{error}; only {coverage:.0%} fell inside its 90% band: "
        f"the model does not carry to periods it has not seen. Look for a change in the business in those {unit}s."
    )
    return Check(name="holdout", status="REVIEW" if bad else "PASS", value=coverage, threshold=HOLDOUT_COVERAGE_REVIEW, message=message)


def prior_posterior_shift(roas: xr.DataArray, prior_mu: xr.DataArray, prior_sigma: xr.DataArray, label: str = "ROAS") -> Check:
    """Channels whose ROAS posterior is still its prior: as wide (on the log scale) and not moved.

    roas: (sample, channel) posterior draws; prior_mu, prior_sigma: (channel,) of the LogNormal prior.
    """
    log = xr.ufuncs.log(roas.clip(min=1e-12))
    lo, hi = (log.quantile(q, dim=SAMPLE).drop_vars("quantile") for q in (0.05, 0.95))
    width_kept = (hi - lo) / (2 * _Z90 * prior_sigma)
    moved = abs(log.median(SAMPLE) - prior_mu) / prior_sigma
    still = [
        str(c)
        for c in roas[CHANNEL].values
        if width_kept.sel({CHANNEL: c}) >= PRIOR_WIDTH_KEPT and moved.sel({CHANNEL: c}) < PRIOR_MEDIAN_MOVED
    ]
    if not still:
        message = f"The data narrowed or moved every channel's {label} away from its prior."
    else:
        its = f"its {label} is still close to its prior" if len(still) == 1 else f"their {label} are still close to their priors"
        message = (
            f"The data say little about {_names(still)}: {its}, so the figures and the plan follow the prior there. "
            "A lift test would tell you more than another year of the same data."
        )
    return Check(
        name="prior_posterior_shift",
        status="REVIEW" if still else "PASS",
        value=float(len(still)),
        threshold=PRIOR_WIDTH_KEPT,
        message=message,
        channels=still,
    )


def roas_consistency(roas: xr.DataArray, prior_mu: xr.DataArray, prior_sigma: xr.DataArray, label: str = "ROAS") -> Check:
    """Channels whose posterior mean ROAS lies beyond the prior's 1% or 99% quantile."""
    z = stats.norm.ppf(PRIOR_TAILS)
    low, high = np.exp(prior_mu + z[0] * prior_sigma), np.exp(prior_mu + z[1] * prior_sigma)
    mean = roas.mean(SAMPLE)
    outside = [
        f"{c} ({float(mean.sel({CHANNEL: c})):.2f}, prior {float(low.sel({CHANNEL: c})):.2f}-{float(high.sel({CHANNEL: c})):.2f})"
        for c in roas[CHANNEL].values
        if not low.sel({CHANNEL: c}) <= mean.sel({CHANNEL: c}) <= high.sel({CHANNEL: c})
    ]
    message = (
        f"Every channel's {label} is within what its prior allowed."
        if not outside
        else f"{label} far outside its prior for {_names(outside)}: check that channel's spend column and its roas_prior "
        "(a platform report or a past test may be wrong), or confirm with a lift test."
    )
    return Check(
        name="roas_consistency",
        status="REVIEW" if outside else "PASS",
        value=float(len(outside)),
        threshold=PRIOR_TAILS[1],
        message=message,
    )


def implausible_roas(roas: xr.DataArray, spend: xr.DataArray, noun: str | None = None) -> Check:
    """Spend-weighted mean ROAS over 20, or reciprocal-spend-weighted under 0.5 (Meridian's bounds).

    roas: (sample, channel) in money; `noun` names a counted outcome whose ROAS is the value of its
    conversions (at the config's value per conversion), None for revenue."""
    mean = roas.mean(SAMPLE)
    share = spend / spend.sum()
    weighted = float((mean * share).sum())
    inverse = (1 / spend) / (1 / spend).sum()
    small_weighted = float((mean * inverse).sum())
    if weighted > ROAS_HIGH:
        return Check(
            name="implausible_roas",
            status="REVIEW",
            value=weighted,
            threshold=ROAS_HIGH,
            message=f"Media return {weighted:.1f} per unit spent on average"
            + ("" if noun is None else f" in the value of their {noun}")
            + ": implausibly high. A control or a trend may be missing, and the media are taking its credit.",
        )
    if small_weighted < ROAS_LOW:
        return Check(
            name="implausible_roas",
            status="REVIEW",
            value=small_weighted,
            threshold=ROAS_LOW,
            message=f"The smaller channels return {small_weighted:.2g} per unit spent on average: check that their spend columns "
            "are in the same currency and units as the target."
            if noun is None
            else f"The smaller channels' {noun} are worth {small_weighted:.2g} per unit spent on average, at the value per "
            "conversion the model was given: check that their spend columns are in the config's currency (not cents) and "
            "that data.value_per_conversion is right. A channel that truly returns this little is worth a test before more money.",
        )
    return Check(
        name="implausible_roas", status="PASS", value=weighted, threshold=ROAS_HIGH, message="Average returns are in a plausible range."
    )


def high_variance(roas: xr.DataArray, prior_sigma: xr.DataArray, spend: xr.DataArray, label: str = "ROAS") -> Check:
    """Spend-weighted ratio of each channel's relative 90% interval width to its prior's."""
    lo, median, hi = (roas.quantile(q, dim=SAMPLE).drop_vars("quantile") for q in (0.05, 0.5, 0.95))
    relative = (hi - lo) / abs(median).where(median != 0)
    prior_relative = 2 * np.sinh(_Z90 * prior_sigma)  # LogNormal: (q95 - q05) / median
    ratio = (relative / prior_relative).fillna(0.0)
    weighted = float((ratio * spend / spend.sum()).sum())
    wide = [str(c) for c in ratio[CHANNEL].values if ratio.sel({CHANNEL: c}) > VARIANCE_RATIO]
    if weighted <= VARIANCE_RATIO:
        message = f"The channels' {label} intervals are narrower than what was assumed before the data."
        if wide:
            message += f" Still wide: {_names(wide)}."
        return Check(name="high_variance", status="PASS", value=weighted, threshold=VARIANCE_RATIO, message=message)
    return Check(
        name="high_variance",
        status="REVIEW",
        value=weighted,
        threshold=VARIANCE_RATIO,
        message=f"{label} is more uncertain than before the data for the channels that carry the spend ({_names(wide)}): "
        "plan with the intervals, not the means, and consider a lift test.",
    )


def media_control_correlation(spend: xr.DataArray, controls: xr.DataArray) -> Check:
    """The strongest correlation between a channel's weekly spend and a control: their effects may be traded.

    spend: (date, channel); controls: (date, control); both over the fitted periods.
    """
    if controls.sizes.get(CONTROL, 0) == 0:
        return Check(
            name="media_control_correlation", status="PASS", value=0.0, threshold=CONTROL_CORRELATION, message="No controls in the model."
        )
    pairs, strongest = [], 0.0
    for ch in spend[CHANNEL].values:
        for ctrl in controls[CONTROL].values:
            a, b = spend.sel({CHANNEL: ch}).values, controls.sel({CONTROL: ctrl}).values
            if a.std() == 0 or b.std() == 0:
                continue
            r = float(np.corrcoef(a, b)[0, 1])
            strongest = max(strongest, abs(r))
            if abs(r) > CONTROL_CORRELATION:
                pairs.append(f"{ch} and {ctrl} (r = {r:+.2f})")
    message = (
        "No channel's spend moves with a control closely enough to confuse their effects."
        if not pairs
        else f"Spend moves with a control: {_names(pairs)}. The model may credit one with the other's effect; "
        "a period where they move apart (or a lift test) separates them."
    )
    return Check(
        name="media_control_correlation",
        status="REVIEW" if pairs else "PASS",
        value=strongest,
        threshold=CONTROL_CORRELATION,
        message=message,
    )
