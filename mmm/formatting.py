"""Plain-text tables for the terminal, printed from the JSON-ready result dicts."""

from __future__ import annotations

from typing import Any, Callable


def table(header: list[str], rows: list[list[Any]], left: int = 1) -> list[str]:
    """Aligned columns; the first `left` columns flush left, the rest flush right."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(r: list[Any]) -> str:
        return "  ".join(str(v).ljust(w) if i < left else str(v).rjust(w) for i, (v, w) in enumerate(zip(r, widths)))

    return [line(header), line(["-" * w for w in widths])] + [line(r) for r in rows]


def _money(x: float) -> str:
    return f"{x:,.0f}"


def _ratio(x: float) -> str:
    return f"{x:.2f}"


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _cell(stat: dict[str, float], fmt: Callable[[float], str]) -> str:
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
    lines += table(header, rows, left=2)
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
    if summary.get("calibration"):
        lines += ["", "Lift tests: measured lift vs the model's prediction before and after calibration:"]
        rows = [[c["test"]["channel"], f"{c['test']['start']} to {c['test']['end']}", _money(c["measured"]["mean"]),
                 _cell(c["before"], _money), _cell(c["after"], _money), f"{c['p_value']:.3f}",
                 "FLAGGED, left out" if c["flagged"] else "used"] for c in summary["calibration"]]
        lines += ["  " + r for r in table(["channel", "test period", "measured", "before", "after", "p-value", ""], rows, left=2)]
        lines += [f"  - {c['test']['channel']}: {c['verdict']}" for c in summary["calibration"] if c["flagged"]]
    if summary["warnings"]:
        lines += ["", "Data warnings:"] + [f"  - {w}" for w in summary["warnings"]]
    return "\n".join(lines)




def _policy_text(shares: dict[str, float]) -> str:
    return " / ".join(f"{t} {_pct(s)}" for t, s in shares.items())


def format_optimize_table(result: dict[str, Any], currency: str) -> str:
    """The recommended budget against the current mix, tier totals, and what each earns."""
    lines = [
        f"Budget {currency} {_money(result['budget'])} over {result['weeks']} periods; "
        f"tiers {_policy_text(result['tiers'])}" + (f"; risk aversion {result['risk']:g}" if result["risk"] else "") + ".",
        "",
    ]
    rows = []
    for name, a in sorted(result["allocation"].items(), key=lambda kv: (kv[1]["tier"], -kv[1]["total"])):
        change = f"{a['change_pct']:+.0%}" if a["change_pct"] is not None else "new"
        rows.append([name, a["tier"], _money(a["current_total"]), _money(a["total"]), _money(a["weekly"]), change,
                     _ratio(a["mroas"]), a["bound"] or ""])
    lines += table(["channel", "tier", "current", "recommended", "per period", "change", "marginal ROAS", "at bound"], rows, left=2)
    lines += ["", "Tier totals: " + ", ".join(f"{t} {_money(v)}" for t, v in result["tier_totals"].items()) + "."]
    exp, roas = result["expected"], result["roas"]
    lines += [
        "",
        f"Expected incremental revenue over the {result['weeks']} periods and the carry-over after them, mean (90% interval):",
        f"  recommended plan: {_cell(exp['recommended'], _money)}  ROAS {_ratio(roas['recommended']['mean'])}",
        f"  current mix:      {_cell(exp['current'], _money)}  ROAS {_ratio(roas['current']['mean'])}",
        f"  difference:       {_cell(result['uplift'], _money)}",
        f"Probability that the recommended plan earns more than the current mix: {_pct(result['prob_better'])}.",
    ]
    checks = [f"{t} {'yes' if o['equal_mroas'] else 'NO'} (spread {_pct(o['mroas_spread'])})" for t, o in result["optimality"].items()
              if len(o["unbound_channels"]) > 1]
    if checks:
        lines.append("Optimum check, equal marginal ROAS across each tier's unbound channels: " + ", ".join(checks) + ".")
    for key in ("tier_reasons", "notes", "warnings"):
        if result.get(key):
            title = {"tier_reasons": "Tiers proposed from the evidence:", "notes": "Notes:", "warnings": "Warnings:"}[key]
            items = result[key].items() if isinstance(result[key], dict) else [(None, v) for v in result[key]]
            lines += ["", title] + [f"  - {k + ': ' if k else ''}{v}" for k, v in items]
    return "\n".join(lines)


def format_scenario_table(result: dict[str, Any], currency: str) -> str:
    """A spend plan's week-by-week forecast and what it earns."""
    lines = [f"Scenario '{result['name']}': {currency} {_money(result['spend'])} over {len(result['dates'])} periods.", ""]
    t = result["target"]
    rows = [[d, _money(m), f"{_money(lo)} to {_money(hi)}"] for d, m, lo, hi in zip(result["dates"], t["mean"], t["low"], t["high"])]
    lines += table(["period", "expected target", "90% interval"], rows)
    lines += [
        "",
        f"Expected target over the plan: {_cell(result['expected_revenue'], _money)}.",
        f"Incremental revenue from the plan (with carry-over): {_cell(result['incremental_revenue'], _money)}.",
    ]
    if result.get("roas"):
        lines.append(f"ROAS of the plan: {_cell(result['roas'], _ratio)}.")
    if result.get("prob_better_than_current") is not None:
        lines.append(f"Probability that it earns more than the current mix at the same budget: {_pct(result['prob_better_than_current'])}.")
    return "\n".join(lines)


def format_runs_table(listing: list[dict[str, Any]]) -> str:
    """Fitted models, newest first, with what was planned on each."""
    rows = []
    for r in listing:
        conv = {True: "yes", False: "NO", None: "?"}[r["converged"]]
        r2 = f"{r['r2']:.3f}" if r["r2"] is not None else "?"
        rows.append([r["run_id"], r["name"] or "", r["started"] or "", r["data_period"], r2, conv, r["status"],
                     r["scenarios"], r["optimizations"]])
    return "\n".join(table(["run id", "name", "started (UTC)", "data period", "R²", "converged", "status", "scenarios", "optimisations"], rows, left=4))


def format_validation_table(result: dict[str, Any]) -> str:
    """Cross-validation: forecast accuracy per fold and how stable each channel's ROAS is."""
    rows = [[f["fold"], f["train_periods"], f"{f['test_start']} to {f['test_end']}", _pct(f["mape"]), _pct(f["nrmse"]),
             _pct(f["coverage"]), "yes" if f["converged"] else "NO"] for f in result["folds"]]
    lines = [f"Rolling-origin cross-validation, {len(rows)} folds forecasting {result['horizon']} periods each:", ""]
    lines += table(["fold", "fitted on", "forecast periods", "MAPE", "NRMSE", "90% coverage", "converged"], rows, left=0)
    m = result["mean"]
    lines += ["", f"Average: MAPE {_pct(m['mape'])}, NRMSE {_pct(m['nrmse'])}, 90% interval coverage {_pct(m['coverage'])}.", "",
              "ROAS across folds (a stable model gives similar numbers on each):"]
    rows = [[ch, " ".join(_ratio(v) for v in s["roas_by_fold"]), _ratio(s["min"]), _ratio(s["max"]),
             _pct(s["cv"]) if s["cv"] is not None else "?"] for ch, s in result["roas_stability"].items()]
    lines += table(["channel", "ROAS by fold", "min", "max", "variation"], rows)
    return "\n".join(lines)
