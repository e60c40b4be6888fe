"""The MLflow metrics of a fit and of a plan, named in the KPI's words (`roas_mean.search`, `cpa_mean.search`)."""

from __future__ import annotations

import math
from typing import Any

from mmm.analysis.results import FitSummary
from mmm.core.constants import CHANNEL_METRICS, CONVERSION_METRICS, INTERVAL_STATS
from mmm.core.outcome import outcome_for
from mmm.planning.results import PlanForecast


def fit_metrics(summary: FitSummary) -> dict[str, float]:
    """Metric name -> value for a fit summary: diagnostics, fit quality, `<metric>_<stat>.<channel>`.

    Per-channel stems follow the KPI (`Outcome.channel_key`): revenue logs roas, roi, contribution, ...;
    conversions log cpa, marginal_cpa, cac (each with a `_median` too), incremental_conversions,
    conversions_per_spend and, with a value per conversion, roas and roi.
    """
    d = summary.diagnostics
    words = outcome_for(summary.outcome)
    m: dict[str, Any] = {
        "max_rhat": d.max_rhat,
        "min_ess_bulk": d.min_ess_bulk,
        "min_ess_tail": d.min_ess_tail,
        "divergences": d.divergences,
        "converged": float(d.converged),
        "fit_seconds": summary.fit_seconds,
        "r2": summary.fit.r2,
        "mape": summary.fit.mape,
        "nrmse": summary.fit.nrmse,
        "r2_attainable": summary.fit.r2_attainable,  # counted outcomes only
        "marketing_share_mean": summary.marketing_share.mean,
    }
    if summary.sampling is not None:
        m.update({k: v for k, v in summary.sampling.model_dump().items() if k != "chains"})
    if summary.holdout is not None:
        m.update({f"holdout_{k}": v for k, v in summary.holdout.model_dump().items()})
    if summary.review is not None:
        m["review_score"] = summary.review.score
    if summary.model_choice is not None:
        m.update({f"elpd_loo.{c.adstock}_{c.saturation}": c.elpd_loo for c in summary.model_choice.candidates})
    if summary.media_seasonality is not None:
        for month in summary.media_seasonality.months:  # `media_multiplier_mean.November`: media effectiveness against average
            m.update({f"media_multiplier_{stat}.{month.name}": v for stat, v in month.multiplier.model_dump().items()})
    metrics = CHANNEL_METRICS if words.is_money else CHANNEL_METRICS + CONVERSION_METRICS
    for name, c in summary.channels.items():
        m.update(_intervals(c, metrics, words, name))
        m[f"carryover_periods_to_90.{name}"] = c.carryover.periods_to_90.median
        m[f"full_cost.{name}"] = c.cost
    for geo, g in (summary.geos or {}).items():  # a geo model: each geo's fit and channels, `roas_mean.<geo>.<channel>`
        m[f"r2.{geo}"] = g.fit.r2
        for name, gc in g.channels.items():
            m.update(_intervals(gc, metrics, words, f"{geo}.{name}"))
    return {k: float(v) for k, v in m.items() if v is not None and math.isfinite(float(v))}


def _intervals(figures: Any, metrics: tuple[str, ...], words: Any, suffix: str) -> dict[str, Any]:
    """`<metric>_<stat>.<suffix>` for every figure present: mean, low, high, and the median of a cost per conversion."""
    out: dict[str, Any] = {}
    for metric in metrics:
        interval = getattr(figures, metric, None)
        if interval is not None:
            out.update({f"{words.channel_key(metric)}_{stat}.{suffix}": v for stat, v in interval.model_dump().items()})
    return out


def plan_metrics(forecast: PlanForecast) -> dict[str, float]:
    """The metrics every optimise and scenario run logs under the same names (for MLflow's compare view).

    Revenue: `roas_mean`, the plan's mean incremental revenue over its budget; conversions: `cac_mean`,
    the budget (media spend) over the plan's mean incremental conversions.
    """
    words = outcome_for(forecast.outcome)
    m: dict[str, float | None] = {f"{words.expected}_{k}": getattr(forecast.expected, k) for k in INTERVAL_STATS}
    m.update({f"{words.incremental}_{k}": getattr(forecast.incremental, k) for k in INTERVAL_STATS})
    if words.is_money:
        # mean ROAS over draws = mean incremental outcome / the (fixed) budget, for every kind of plan
        m["roas_mean"] = forecast.incremental.mean / forecast.spend if forecast.spend > 0 else None
    else:
        m["cac_mean"] = forecast.spend / forecast.incremental.mean if forecast.incremental.mean > 0 else None
    m["prob_better_than_current"] = forecast.prob_better_than_current
    m["budget"] = forecast.spend
    m.update({f"spend_{ch}": v for ch, v in forecast.spend_by_channel.items()})
    return {k: float(v) for k, v in m.items() if v is not None}
