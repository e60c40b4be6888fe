"""The results of a fit as one JSON-ready dict.

The dict is the single source of every number: the CLI table (mmm.formatting),
`--output-json`, MLflow metrics and the report all read it.
"""

from __future__ import annotations

import math
from typing import Any

from mmm.decomposition import carryover, channel_draws, fit_quality, interval
from mmm.estimator import MarketingMixModel

METRICS = ("roas", "roi", "contribution", "contribution_share", "mroas")


def fit_summary(model: MarketingMixModel, run_id: str | None = None) -> dict[str, Any]:
    """Diagnostics, fit quality and per-channel returns (mean and 90% interval) of a fitted model."""
    draws = channel_draws(model)
    quality = fit_quality(model)
    d, n = model.data, model.n_train
    tiers = {c.name: c.tier for c in model.config.channels}
    diag = model.diagnostics
    out: dict[str, Any] = {
        "run_id": run_id,
        "fit_seconds": round(model.fit_seconds, 2),
        "currency": model.config.currency,
        "diagnostics": {
            "max_rhat": diag.max_rhat,
            "min_ess_bulk": diag.min_ess_bulk,
            "min_ess_tail": diag.min_ess_tail,
            "divergences": diag.divergences,
            "converged": diag.converged,
            "problems": diag.problems,
        },
        "fit": quality["in_sample"],
        "data": {
            "source": d.source,
            "frequency": d.frequency,
            "first_date": str(d.dates[0].date()),
            "last_date": str(d.dates[n - 1].date()),
            "periods": n,
            "target_total": float(d.target[:n].sum()),
        },
        "channels": {},
        "warnings": list(d.warnings),
        "notes": list(d.notes),
    }
    if "holdout" in quality:
        out["holdout"] = quality["holdout"]
    carry = carryover(model)
    for name, cd in draws.items():
        out["channels"][name] = {
            "tier": tiers[name],
            "spend": cd.spend,
            "cost": cd.cost,
            **{m: interval(getattr(cd, m)) for m in METRICS},
            "carryover": carry[name],
        }
    marketing = sum(cd.contribution for cd in draws.values())
    out["marketing_share"] = interval(marketing / out["data"]["target_total"])
    return out


def json_safe(obj: Any) -> Any:
    """Replace NaN and infinities (not valid JSON) with None, recursively."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    return obj
