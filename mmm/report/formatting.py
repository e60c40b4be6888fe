"""Plain-text tables for the terminal, printed from the typed results."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mmm.analysis.results import FitSummary
from mmm.core.outcome import outcome_for
from mmm.planning.results import OptimizationResult, ScenarioResult


def table(header: list[str], rows: list[list[Any]], left: int = 1) -> list[str]:
    """Aligned columns; the first `left` columns flush left, the rest flush right."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(r: list[Any]) -> str:
        return "  ".join(str(v).ljust(w) if i < left else str(v).rjust(w) for i, (v, w) in enumerate(zip(r, widths)))

    return [line(header), line(["-" * w for w in widths])] + [line(r) for r in rows]


def amount(x: float) -> str:
    """1,234,567: currency amounts without the currency (ranges, table cells)."""
    return f"{x:,.0f}"


def ratio(x: float) -> str:
    """ROAS and ROI: 2.10."""
    return f"{x:.2f}"


def pct(x: float) -> str:
    """Shares: 12.3%."""
    return f"{100 * x:.1f}%"


def _cell(stat: dict[str, float], fmt: Callable[[float], str]) -> str:
    return f"{fmt(stat['mean'])} ({fmt(stat['low'])} to {fmt(stat['high'])})"


def format_fit_table(result: FitSummary) -> str:
    """A plain-text report of a fit: what each channel returned, and whether to trust it."""
    summary = result.to_dict()
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
        rows.append(
            [
                name,
                c["tier"],
                amount(c["spend"]),
                _cell(c["contribution"], amount),
                _cell(c["contribution_share"], pct),
                _cell(c["roas"], ratio),
                _cell(c["roi"], ratio),
                _cell(c["mroas"], ratio),
            ]
        )
    lines += table(header, rows, left=2)
    ms = summary["marketing_share"]
    lines += ["", f"Marketing drove {_cell(ms, pct)} of the target over the period."]
    f = summary["fit"]
    lines.append(f"Fit: R² {f['r2']:.3f}, MAPE {pct(f['mape'])}, NRMSE {pct(f['nrmse'])}.")
    if "holdout" in summary:
        h = summary["holdout"]
        lines.append(
            f"Holdout ({h['periods']} periods not used in fitting): MAPE {pct(h['mape'])}, NRMSE {pct(h['nrmse'])}, "
            f"90% interval covered {pct(h['coverage'])} of actuals."
        )
    dg = summary["diagnostics"]
    state = "converged" if dg["converged"] else "NOT CONVERGED"
    lines.append(
        f"Sampler: {state} (max R-hat {dg['max_rhat']:.3f}, min ESS {dg['min_ess_bulk']:.0f}, "
        f"{dg['divergences']} divergences) in {summary['fit_seconds']:.1f} s."
    )
    cost = summary.get("sampling")
    if cost and cost["sample_seconds"] is not None:
        compiled = f"compiling {cost['compile_seconds']:.1f} s, " if cost["compile_seconds"] is not None else ""
        lines.append(f"  ({compiled}sampling {cost['sample_seconds']:.1f} s, {cost['draws_per_chain']} draws per chain kept.)")
    if not dg["converged"]:
        lines += ["", "WARNING: the sampler did not converge; do not use these numbers for decisions yet. Try:"]
        lines += [f"  - {p}" for p in dg["problems"]]
    if summary.get("calibration"):
        lines += ["", "Lift tests: measured lift vs the model's prediction before and after calibration:"]
        rows = [
            [
                c["test"]["channel"],
                f"{c['test']['start']} to {c['test']['end']}",
                amount(c["measured"]["mean"]),
                _cell(c["before"], amount),
                _cell(c["after"], amount),
                f"{c['p_value']:.3f}",
                "FLAGGED, left out" if c["flagged"] else "used",
            ]
            for c in summary["calibration"]
        ]
        lines += ["  " + r for r in table(["channel", "test period", "measured", "before", "after", "p-value", ""], rows, left=2)]
        lines += [f"  - {c['test']['channel']}: {c['verdict']}" for c in summary["calibration"] if c["flagged"]]
    if summary["warnings"]:
        lines += ["", "Data warnings:"] + [f"  - {w}" for w in summary["warnings"]]
    return "\n".join(lines)


def _policy_text(shares: dict[str, float]) -> str:
    return " / ".join(f"{t} {pct(s)}" for t, s in shares.items())


def format_optimize_table(optimization: OptimizationResult, currency: str) -> str:
    """The recommended budget against the current mix, tier totals, and what each earns."""
    result = optimization.to_dict()
    noun = outcome_for(optimization.forecast.outcome).noun
    lines = [
        f"Budget {currency} {amount(result['budget'])} over {result['weeks']} periods; "
        f"tiers {_policy_text(result['tiers'])}" + (f"; risk aversion {result['risk']:g}" if result["risk"] else "") + ".",
        "",
    ]
    rows = []
    for name, a in sorted(result["allocation"].items(), key=lambda kv: (kv[1]["tier"], -kv[1]["total"])):
        change = f"{a['change_pct']:+.0%}" if a["change_pct"] is not None else "new"
        rows.append(
            [
                name,
                a["tier"],
                amount(a["current_total"]),
                amount(a["total"]),
                amount(a["weekly"]),
                change,
                ratio(a["mroas"]),
                a["bound"] or "",
            ]
        )
    lines += table(["channel", "tier", "current", "recommended", "per period", "change", "marginal ROAS", "at bound"], rows, left=2)
    lines += ["", "Tier totals: " + ", ".join(f"{t} {amount(v)}" for t, v in result["tier_totals"].items()) + "."]
    exp, roas = result["expected"], result["roas"]
    lines += [
        "",
        f"Expected incremental {noun} over the {result['weeks']} periods and the carry-over after them, mean (90% interval):",
        f"  recommended plan: {_cell(exp['recommended'], amount)}  ROAS {ratio(roas['recommended']['mean'])}",
        f"  current mix:      {_cell(exp['current'], amount)}  ROAS {ratio(roas['current']['mean'])}",
        f"  difference:       {_cell(result['uplift'], amount)}",
        f"Probability that the recommended plan earns more than the current mix: {pct(result['prob_better'])}.",
    ]
    checks = [
        f"{t} {'yes' if o['equal_mroas'] else 'NO'} (spread {pct(o['mroas_spread'])})"
        for t, o in result["optimality"].items()
        if len(o["unbound_channels"]) > 1
    ]
    if checks:
        lines.append("Optimum check, equal marginal ROAS across each tier's unbound channels: " + ", ".join(checks) + ".")
    for key in ("tier_reasons", "notes", "warnings"):
        if result.get(key):
            title = {"tier_reasons": "Tiers proposed from the evidence:", "notes": "Notes:", "warnings": "Warnings:"}[key]
            items = result[key].items() if isinstance(result[key], dict) else [(None, v) for v in result[key]]
            lines += ["", title] + [f"  - {k + ': ' if k else ''}{v}" for k, v in items]
    return "\n".join(lines)


def format_scenario_table(scenario: ScenarioResult, currency: str) -> str:
    """A spend plan's week-by-week forecast and what it earns."""
    result = scenario.to_dict()
    words = outcome_for(scenario.outcome)
    lines = [f"Scenario '{result['name']}': {currency} {amount(result['spend'])} over {len(result['dates'])} periods.", ""]
    t = result["target"]
    rows = [[d, amount(m), f"{amount(lo)} to {amount(hi)}"] for d, m, lo, hi in zip(result["dates"], t["mean"], t["low"], t["high"])]
    lines += table(["period", "expected target", "90% interval"], rows)
    lines += [
        "",
        f"Expected target over the plan: {_cell(result[words.expected], amount)}.",
        f"Incremental {words.noun} from the plan (with carry-over): {_cell(result[words.incremental], amount)}.",
    ]
    if result.get("roas"):
        lines.append(f"ROAS of the plan: {_cell(result['roas'], ratio)}.")
    if result.get("prob_better_than_current") is not None:
        lines.append(f"Probability that it earns more than the current mix at the same budget: {pct(result['prob_better_than_current'])}.")
    return "\n".join(lines)


def format_runs_table(listing: list[dict[str, Any]]) -> str:
    """Fitted models, newest first, with what was planned on each."""
    rows = []
    for r in listing:
        conv = {True: "yes", False: "NO", None: "?"}[r["converged"]]
        r2 = f"{r['r2']:.3f}" if r["r2"] is not None else "?"
        rows.append(
            [r["run_id"], r["name"] or "", r["started"] or "", r["data_period"], r2, conv, r["status"], r["scenarios"], r["optimizations"]]
        )
    return "\n".join(
        table(["run id", "name", "started (UTC)", "data period", "R²", "converged", "status", "scenarios", "optimisations"], rows, left=4)
    )


def format_validation_table(result: dict[str, Any]) -> str:
    """Cross-validation: forecast accuracy per fold and how stable each channel's ROAS is."""
    rows = [
        [
            f["fold"],
            f["train_periods"],
            f"{f['test_start']} to {f['test_end']}",
            pct(f["mape"]),
            pct(f["nrmse"]),
            pct(f["coverage"]),
            "yes" if f["converged"] else "NO",
        ]
        for f in result["folds"]
    ]
    lines = [f"Rolling-origin cross-validation, {len(rows)} folds forecasting {result['horizon']} periods each:", ""]
    lines += table(["fold", "fitted on", "forecast periods", "MAPE", "NRMSE", "90% coverage", "converged"], rows, left=0)
    m = result["mean"]
    lines += [
        "",
        f"Average: MAPE {pct(m['mape'])}, NRMSE {pct(m['nrmse'])}, 90% interval coverage {pct(m['coverage'])}.",
        "",
        "ROAS across folds (a stable model gives similar numbers on each):",
    ]
    rows = [
        [ch, " ".join(ratio(v) for v in s["roas_by_fold"]), ratio(s["min"]), ratio(s["max"]), pct(s["cv"]) if s["cv"] is not None else "?"]
        for ch, s in result["roas_stability"].items()
    ]
    lines += table(["channel", "ROAS by fold", "min", "max", "variation"], rows)
    return "\n".join(lines)
