"""The results of a fit as one JSON-ready dict, and the table printed from it.

The dict is the single source of every number: the CLI table, `--output-json`, MLflow
metrics and the report all read it.
"""

from __future__ import annotations

import math
from typing import Any

from mmm.decomposition import channel_draws, fit_quality, interval
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
    for name, cd in draws.items():
        out["channels"][name] = {
            "tier": tiers[name],
            "spend": cd.spend,
            "cost": cd.cost,
            **{m: interval(getattr(cd, m)) for m in METRICS},
        }
    marketing = sum(cd.contribution for cd in draws.values())
    out["marketing_share"] = interval(marketing / out["data"]["target_total"])
    return out


def _money(x: float) -> str:
    return f"{x:,.0f}"


def _ratio(x: float) -> str:
    return f"{x:.2f}"


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _cell(stat: dict[str, float], fmt) -> str:
    return f"{fmt(stat['mean'])} ({fmt(stat['low'])} to {fmt(stat['high'])})"


def format_fit_table(summary: dict[str, Any]) -> str:
    """A plain-text report of a fit: what each channel returned, and whether to trust it."""
    cur = summary["currency"]
    d = summary["data"]
    lines = [
        f"Model of {d['periods']} {d['frequency']} periods, {d['first_date']} to {d['last_date']}; "
        f"figures in {cur}, each as mean (90% interval).",
        "",
    ]
    header = ["channel", "tier", "spend", "contribution", "share", "ROAS", "net ROI", "marginal ROAS"]
    rows = []
    chans = sorted(summary["channels"].items(), key=lambda kv: -kv[1]["roas"]["mean"])
    for name, c in chans:
        rows.append([
            name, c["tier"], _money(c["spend"]), _cell(c["contribution"], _money), _cell(c["contribution_share"], _pct),
            _cell(c["roas"], _ratio), _cell(c["roi"], _ratio), _cell(c["mroas"], _ratio),
        ])
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    fmt_row = lambda r: "  ".join(str(v).ljust(w) if i < 2 else str(v).rjust(w) for i, (v, w) in enumerate(zip(r, widths)))  # noqa: E731
    lines += [fmt_row(header), fmt_row(["-" * w for w in widths])] + [fmt_row(r) for r in rows]
    ms = summary["marketing_share"]
    lines += ["", f"Marketing drove {_cell(ms, _pct)} of the target over the period."]
    f = summary["fit"]
    lines.append(f"Fit: R² {f['r2']:.3f}, MAPE {_pct(f['mape'])}, NRMSE {_pct(f['nrmse'])}.")
    if "holdout" in summary:
        h = summary["holdout"]
        lines.append(
            f"Holdout ({h['periods']} periods not used in fitting): MAPE {_pct(h['mape'])}, NRMSE {_pct(h['nrmse'])}, "
            f"90% interval covered {_pct(h['coverage'])} of actuals."
        )
    dg = summary["diagnostics"]
    state = "converged" if dg["converged"] else "NOT CONVERGED"
    lines.append(
        f"Sampler: {state} (max R-hat {dg['max_rhat']:.3f}, min ESS {dg['min_ess_bulk']:.0f}, "
        f"{dg['divergences']} divergences) in {summary['fit_seconds']:.1f} s."
    )
    if not dg["converged"]:
        lines += ["", "WARNING: the sampler did not converge; do not use these numbers for decisions yet. Try:"]
        lines += [f"  - {p}" for p in dg["problems"]]
    if summary["warnings"]:
        lines += ["", "Data warnings:"] + [f"  - {w}" for w in summary["warnings"]]
    return "\n".join(lines)


def json_safe(obj: Any) -> Any:
    """Replace NaN and infinities (not valid JSON) with None, recursively."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    return obj
