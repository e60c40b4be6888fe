"""Data checks run by `mmm validate`: can this data tell the channels' effects apart?

Each check is a pure function of the validated data; `review_data` runs them all into one `Review`
(PASS, REVIEW or FAIL). Google Meridian's EDA checks are the floor. Where mmm differs:
- pairwise spend correlation asks for a review above |r| = 0.9 as well as failing above 0.999 (Meridian
  only fails, at 0.999): from 0.9 on, a model trades the two channels' credit against each other;
- variance inflation (each channel's spend against the other channels and the controls) asks for a
  review above 10, the usual rule of thumb, as well as failing above 1000 (Meridian only fails, at 1000);
- periods per parameter counts every sampled parameter (ROAS, carry-over and saturation per channel,
  baseline, trend, seasonality, controls, noise), about twice the coefficients Meridian counts (it gives
  no threshold), so it asks for a review below 5, not the rule of thumb of 10, and fails below 2 (where
  `load_data` refuses the data);
- near-zero variance is measured as spend's coefficient of variation (review below 5%), in currency, where
  Meridian reviews a standard deviation below 1e-4 of its scaled media; a channel active in under 10%
  of periods is reviewed too (the data check's warning);
- spend outliers are weeks far above a channel's typical active week, by both a robust z-score (median
  and MAD of the weeks with spend) above 5 and more than 5 times that median; Meridian flags outliers
  of cost per media unit (1.5 IQR), which needs media units mmm does not read. Requiring both keeps
  channels with steady spend from being flagged for ordinary weeks;
- spend against the target (not in Meridian): a channel that spent more than the whole target in currency over the
  period asks for a review, as most likely written in other units (cents, thousands).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mmm.core.constants import DATE, GEO
from mmm.core.review import Check, Review, Status
from mmm.data.dataset import ModelData

CORRELATION_REVIEW, CORRELATION_FAIL = 0.9, 0.999  # |Pearson r| between two channels' spend
VIF_REVIEW, VIF_FAIL = 10.0, 1000.0
PERIODS_PER_PARAMETER_REVIEW = 5.0
MIN_PERIODS_PER_PARAMETER = 2  # below this `load_data` refuses the data
MIN_ACTIVE_SHARE = 0.1  # share of periods with spend
MIN_VARIATION = 0.05  # coefficient of variation of spend (standard deviation / mean)
SPEND_OVER_TARGET = 1.0  # a channel's spend over the period against the whole target in currency over it
OUTLIER_Z, OUTLIER_RATIO = 5.0, 5.0  # robust z-score and multiple of the median active week
_MAD_TO_SD = 1.4826  # MAD of a normal distribution times this is its standard deviation
_SHOWN = 5  # dates named per channel before 'and N more'


def _status(value: float, review: float, fail: float, above: bool = True) -> Status:
    """FAIL or REVIEW when `value` is beyond a threshold: above them, or below them when `above` is False."""
    sign = 1.0 if above else -1.0
    return "FAIL" if sign * value > sign * fail else "REVIEW" if sign * value > sign * review else "PASS"


def _quoted(names: list[str]) -> str:
    return ", ".join(f"'{n}'" for n in names)


def pairwise_correlations(spend: np.ndarray, channels: list[str]) -> list[tuple[str, str, float]]:
    """Pearson correlation of every pair of channels' spend (period, channel): (a, b, r), strongest |r| first.

    A channel whose spend never changes correlates with nothing and is left out.
    """
    varying = [i for i in range(spend.shape[1]) if np.std(spend[:, i]) > 0]
    if len(varying) < 2:
        return []
    corr = np.corrcoef(spend[:, varying], rowvar=False)
    pairs = [
        (channels[varying[a]], channels[varying[b]], float(corr[a, b])) for a in range(len(varying)) for b in range(a + 1, len(varying))
    ]
    return sorted(pairs, key=lambda p: -abs(p[2]))


def spend_warnings(spend: np.ndarray, channels: list[str]) -> list[str]:
    """What `load_data` warns about spend (period, channel), currency: channels whose spend moves together, and
    channels with spend in under MIN_ACTIVE_SHARE of periods."""
    warnings = [
        f"spend of '{a}' and '{b}' moves together (correlation {r:.2f}); the model "
        "cannot tell their effects apart well. A lift test on one of them, or a ROAS prior, helps."
        for a, b, r in pairwise_correlations(spend, channels)
        if abs(r) > CORRELATION_REVIEW
    ]
    for name, active in zip(channels, np.mean(spend > 0, axis=0)):
        if active < MIN_ACTIVE_SHARE:
            warnings.append(f"channel '{name}' has spend in only {active:.0%} of periods; its ROAS will rest mostly on the prior")
    return warnings


def spend_correlation(spend: np.ndarray, channels: list[str]) -> Check:
    """The strongest pairwise correlation (absolute) between two channels' spend (period, channel)."""
    pairs = pairwise_correlations(spend, channels)
    top = abs(pairs[0][2]) if pairs else 0.0
    status = _status(top, CORRELATION_REVIEW, CORRELATION_FAIL)
    limit = CORRELATION_FAIL if status == "FAIL" else CORRELATION_REVIEW
    flagged = "; ".join(f"'{a}' and '{b}' (correlation {r:.3f})" for a, b, r in pairs if abs(r) > limit)
    message = {
        "PASS": f"No two channels' spend moves together (highest correlation {top:.2f})."
        if pairs
        else "Fewer than two channels with varying spend: nothing to compare.",
        "REVIEW": f"Spend moves together for {flagged}: the model will share credit between them unreliably. "
        "Vary one of them for some weeks, run a lift test on one, or give one a ROAS prior.",
        "FAIL": f"Spend moves in lockstep for {flagged}: the model cannot tell them apart. "
        "Merge them into one channel or vary one of them (pause it, or shift its budget, for some weeks).",
    }[status]
    return Check(name="spend_correlation", status=status, value=top, threshold=limit, message=message)


def _inflation(columns: np.ndarray, j: int) -> tuple[float, np.ndarray]:
    """Variance inflation of standardised column j against the others, and its regression coefficients on them."""
    others = np.delete(columns, j, axis=1)
    design = np.column_stack([np.ones(len(columns)), others])
    coef, *_ = np.linalg.lstsq(design, columns[:, j], rcond=None)
    residual = float(np.sum((columns[:, j] - design @ coef) ** 2))
    total = float(np.sum((columns[:, j] - columns[:, j].mean()) ** 2))
    r2 = 1.0 - residual / total
    return (np.inf if r2 >= 1.0 else 1.0 / (1.0 - r2)), coef[1:]


def _vif_text(vif: float) -> str:
    return "over a million" if vif > 1e6 else f"{vif:,.0f}"


def variance_inflation(spend: np.ndarray, controls: np.ndarray, channels: list[str], control_names: list[str]) -> Check:
    """Variance inflation factor of each channel's spend against the other channels' spend and the controls.

    spend (period, channel) in currency, controls (period, control) as the model reads them; columns that
    never change are left out (the variation checks cover them).
    """
    names = channels + control_names
    values = np.column_stack([spend, controls])
    sd = values.std(axis=0)
    keep = np.flatnonzero(sd > 0)
    columns = (values[:, keep] - values[:, keep].mean(axis=0)) / sd[keep]
    found: list[tuple[float, str, list[str]]] = []
    for j, i in enumerate(keep):
        if i < len(channels) and len(keep) > 1:
            vif, coef = _inflation(columns, j)
            weight = np.abs(coef)
            others = np.delete(keep, j)[np.argsort(-weight)][: int(np.sum(weight >= weight.max() / 2))]
            partners = [names[k] for k in others[:2]]  # the one or two columns it follows most
            found.append((vif, channels[i], partners))
    found.sort(key=lambda f: -f[0])
    top = found[0][0] if found else 1.0
    status = _status(top, VIF_REVIEW, VIF_FAIL)
    flagged = "; ".join(
        f"'{ch}' (variance inflation {_vif_text(v)}; moves mostly with {_quoted(p)})" for v, ch, p in found if v > VIF_REVIEW
    )
    message = {
        "PASS": f"No channel's spend is a mix of the other channels' and the controls (highest variance inflation {_vif_text(top)})."
        if found
        else "No other channels or controls to compare the spend with.",
        "REVIEW": f"Spend largely follows a mix of other channels' spend and the controls for {flagged}: the model will "
        "separate these effects poorly. Change their spend independently for some weeks, or merge a channel with the ones "
        "it follows.",
        "FAIL": f"Spend is almost exactly a mix of other channels' spend and the controls for {flagged}: the model cannot "
        "separate these effects. Merge a channel with the ones it follows, drop the control it duplicates, or change its "
        "spend independently for some weeks.",
    }[status]
    threshold = VIF_FAIL if status == "FAIL" else VIF_REVIEW
    return Check(name="variance_inflation", status=status, value=top, threshold=threshold, message=message)


def periods_per_parameter(periods: int, parameters: int) -> Check:
    """Fitted periods per free parameter of the model (count from `mmm.data.loading.count_parameters`)."""
    ratio = periods / parameters
    status = _status(ratio, PERIODS_PER_PARAMETER_REVIEW, MIN_PERIODS_PER_PARAMETER, above=False)
    found = f"{periods} periods for {parameters} model parameters ({ratio:.1f} per parameter)"
    message = {
        "PASS": f"{found}: enough data for the model.",
        "REVIEW": f"{found}: the estimates will lean on the priors. Use fewer channels (merge small ones) or controls, "
        "a lower model.seasonality_order, or more history.",
        "FAIL": f"{found}: too little data for this model. Use fewer channels or controls, a lower model.seasonality_order, "
        "or more history.",
    }[status]
    threshold = MIN_PERIODS_PER_PARAMETER if status == "FAIL" else PERIODS_PER_PARAMETER_REVIEW
    return Check(name="periods_per_parameter", status=status, value=ratio, threshold=threshold, message=message)


def active_periods(spend: np.ndarray, channels: list[str]) -> Check:
    """The lowest share of periods in which a channel has spend (period, channel)."""
    shares = np.mean(spend > 0, axis=0)
    rare = [f"'{ch}' ({s:.0%})" for ch, s in zip(channels, shares) if s < MIN_ACTIVE_SHARE]
    low = float(shares.min())
    message = (
        f"Every channel has spend in at least {low:.0%} of periods."
        if not rare
        else f"Too few periods with spend for {', '.join(rare)}: the ROAS will rest mostly on the prior. Give such a channel a "
        "ROAS prior from a test, merge it into a similar channel, or wait for more active weeks."
    )
    return Check(name="active_periods", status="REVIEW" if rare else "PASS", value=low, threshold=MIN_ACTIVE_SHARE, message=message)


def spend_variation(spend: np.ndarray, channels: list[str]) -> Check:
    """The lowest coefficient of variation (standard deviation / mean) of a channel's spend (period, channel)."""
    mean = spend.mean(axis=0)
    variation = np.divide(spend.std(axis=0), mean, out=np.zeros_like(mean), where=mean > 0)
    flat = [f"'{ch}' ({v:.1%})" for ch, v in zip(channels, variation) if v < MIN_VARIATION]
    low = float(variation.min())
    message = (
        f"Every channel's spend varies (by at least {low:.0%} of its mean)."
        if not flat
        else f"Spend of {', '.join(flat)} barely changes from period to period: the model cannot tell its effect from the "
        "baseline. Vary it for some weeks (or pause it), or give it a ROAS prior from a test."
    )
    return Check(name="spend_variation", status="REVIEW" if flat else "PASS", value=low, threshold=MIN_VARIATION, message=message)


def spend_vs_target(spend: np.ndarray, channels: list[str], target_value: np.ndarray | None) -> Check:
    """The largest ratio of a channel's spend (period, channel) to the whole target in currency (period,) over the same
    periods; None where the target has no value in currency (conversions without a value per conversion).

    A channel that spent more than the business took in is most likely written in other units (cents, thousands).
    The default ROAS priors are set from all channels' spend against the target, so it would skew every channel's.
    """
    if target_value is None or target_value.sum() <= 0:
        return Check(
            name="spend_vs_target",
            status="PASS",
            value=None,
            threshold=SPEND_OVER_TARGET,
            message="The target has no value in currency to compare spend with.",
        )
    whole = float(target_value.sum())
    ratios = spend.sum(axis=0) / whole
    over = [f"'{ch}' ({total:,.0f}, {r:.1f}x)" for ch, total, r in zip(channels, spend.sum(axis=0), ratios) if r > SPEND_OVER_TARGET]
    message = (
        f"Every channel spent less than the target over the period ({whole:,.0f}); the largest spent {ratios.max():.0%} of it."
        if not over
        else f"Spend of {', '.join(over)} is more than the whole target over the period ({whole:,.0f}): check that the column is "
        "in the same currency and units as the rest (not cents or thousands). Spend in other units skews every channel's "
        "default ROAS prior, which is set from all spend against the target."
    )
    status: Status = "REVIEW" if over else "PASS"
    return Check(name="spend_vs_target", status=status, value=float(ratios.max()), threshold=SPEND_OVER_TARGET, message=message)


def _outlier_weeks(values: np.ndarray) -> tuple[np.ndarray, float]:
    """Periods of one channel's spend far above its typical active period (bool mask), and the largest multiple of it."""
    active = values[values > 0]
    if not active.size:
        return np.zeros(len(values), dtype=bool), 0.0
    median = float(np.median(active))
    spread = _MAD_TO_SD * float(np.median(np.abs(active - median)))
    z = (values - median) / spread if spread > 0 else np.where(values > median, np.inf, 0.0)
    return (z > OUTLIER_Z) & (values > OUTLIER_RATIO * median), float(values.max() / median)


def spend_outliers(spend: np.ndarray, channels: list[str], dates: pd.DatetimeIndex) -> Check:
    """Periods where a channel's spend (period, channel) is far above its typical active period; names the dates."""
    flagged, top = [], 0.0
    for i, ch in enumerate(channels):
        mask, ratio = _outlier_weeks(spend[:, i])
        top = max(top, ratio)
        if mask.any():
            when = [d.strftime("%Y-%m-%d") for d in dates[mask]]
            more = f" and {len(when) - _SHOWN} more" if len(when) > _SHOWN else ""
            flagged.append(f"'{ch}' on {', '.join(when[:_SHOWN])}{more}")
    message = (
        f"No period's spend stands far above its channel's usual level (at most {top:.1f} times its median active period)."
        if not flagged
        else f"Spend spikes for {'; '.join(flagged)} (over {OUTLIER_RATIO:g} times the channel's median period with spend): "
        "check these are real (a launch, a burst) and not a typo such as an extra zero, or spend booked in one week "
        "that ran over several."
    )
    return Check(name="spend_outliers", status="REVIEW" if flagged else "PASS", value=top, threshold=OUTLIER_RATIO, message=message)


def review_data(data: ModelData, parameters: int, money: bool = True) -> Review:
    """Every data check on validated national data, for a model with `parameters` free parameters
    (`mmm.data.loading.count_parameters`); `money`: the target is an amount of money (else conversions, valued
    by the data's value column where it has one)."""
    spend, names = data.spend_matrix(), data.channels
    value = data.target_series() if money else None if data.value is None else (data.target * data.value).sum(GEO).transpose(DATE).values
    return Review.of(
        [
            spend_correlation(spend, names),
            variance_inflation(spend, data.control_matrix(), names, data.control_names),
            periods_per_parameter(data.n_periods, parameters),
            active_periods(spend, names),
            spend_variation(spend, names),
            spend_outliers(spend, names, data.dates),
            spend_vs_target(spend, names, value),
        ]
    )
