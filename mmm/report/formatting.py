"""Plain-text tables for the terminal, printed from the typed results."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mmm.analysis.results import FitSummary, ModelChoice
from mmm.core.outcome import cost, outcome_for
from mmm.core.review import STATUSES, Review
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


def marginal(mroas: float, money: bool) -> str:
    """The optimiser's marginal return as the KPI speaks it: marginal ROAS (2.10), or marginal CPA (its reciprocal, 42.50)."""
    return ratio(mroas) if money else (cost(1 / mroas) if mroas > 0 else "-")


def plan_return(result: dict[str, Any], plan: str, money: bool) -> str:
    """A plan's return on the budget: 'ROAS 2.10', or for conversions 'CAC 42.50' (budget per incremental conversion)."""
    if money:
        return f"ROAS {ratio(result['roas'][plan]['mean'])}"
    incremental = result["expected"][plan]["mean"]
    return f"CAC {cost(result['budget'] / incremental)}" if incremental > 0 else "CAC -"


def _cell(stat: dict[str, float], fmt: Callable[[float], str]) -> str:
    return f"{fmt(stat['mean'])} ({fmt(stat['low'])} to {fmt(stat['high'])})"


NA = "n/a"  # a statistic the analysis could not compute (e.g. R² of a constant series, R-hat of one chain)


def fixed(x: float | None, digits: int = 2) -> str:
    """A plain number with `digits` decimals: 'R² 0.913', 'ESS 812'."""
    return NA if x is None else f"{x:.{digits}f}"


def format_fit_table(result: FitSummary) -> str:
    """A plain-text report of a fit: what each channel returned, and whether to trust it."""
    summary = result.to_dict()
    cur = summary["currency"]
    d = summary["data"]
    figure = outcome_for(result.outcome).figure
    lines = [
        f"Model of {d['periods']} {d['frequency']} periods, {d['first_date']} to {d['last_date']}; "
        f"figures in {cur}, {outcome_for(result.outcome).headline}.",
        "",
    ]
    if outcome_for(result.outcome).has_cpa:
        from mmm.report.conversion_text import conversion_channel_lines  # it builds on this module's helpers

        lines += conversion_channel_lines(result)
    else:
        lines += _channel_lines(result)
    lines += _geo_lines(summary)
    ms = summary["marketing_share"]
    lines += ["", f"Marketing drove {_cell(ms, pct)} of the target over the period."]
    f = summary["fit"]
    reach = f" (chance in counting leaves {f['r2_attainable']:.3f} to explain)" if f.get("r2_attainable") is not None else ""
    lines.append(f"Fit: R² {f['r2']:.3f}{reach}, MAPE {pct(f['mape'])}, NRMSE {pct(f['nrmse'])}.")
    if "holdout" in summary:
        h = summary["holdout"]
        lines.append(
            f"Holdout ({h['periods']} periods not used in fitting): MAPE {pct(h['mape'])}, NRMSE {pct(h['nrmse'])}, "
            f"90% interval covered {pct(h['coverage'])} of actuals."
        )
    dg = summary["diagnostics"]
    state = "converged" if dg["converged"] else "NOT CONVERGED"
    lines.append(
        f"Sampler: {state} (max R-hat {fixed(dg['max_rhat'], 3)}, min ESS {fixed(min(dg['min_ess_bulk'], dg['min_ess_tail']), 0)} bulk and tail, "
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
                figure(c["measured"]["mean"]),
                _cell(c["before"], figure),
                _cell(c["after"], figure),
                f"{c['p_value']:.3f}",
                "FLAGGED, left out" if c["flagged"] else "used",
            ]
            for c in summary["calibration"]
        ]
        lines += ["  " + r for r in table(["channel", "test period", "measured", "before", "after", "p-value", ""], rows, left=2)]
        lines += [f"  - {c['test']['channel']}: {c['verdict']}" for c in summary["calibration"] if c["flagged"]]
    if summary["warnings"]:
        lines += ["", "Data warnings:"] + [f"  - {w}" for w in summary["warnings"]]
    if result.model_choice is not None:
        lines += ["", format_model_choice(result.model_choice)]
    if result.review is not None:
        lines += ["", format_review(result.review, "Health review of the model", VERDICTS)]
    return "\n".join(lines)


def _geo_lines(summary: dict[str, Any]) -> list[str]:
    """A geo model's table per geo and channel (the table above is their total); nothing for a national model."""
    if not summary.get("geos"):
        return []
    rows = []
    words = outcome_for(summary["outcome"])
    for geo, g in summary["geos"].items():
        for i, (name, c) in enumerate(g["channels"].items()):
            fit = g["fit"]["r2"]
            if words.has_cpa:  # a conversion's cost, as in the table above: conversions per unit spent would print as 0.00
                per = c.get("cpa")
                returned = f"{cost(per['median'])} ({cost(per['low'])} to {cost(per['high'])})" if per else "no spend"
            else:
                returned = _cell(c["roas"], ratio) if "roas" in c else "no spend"
            rows.append(
                [
                    geo if i == 0 else "",
                    name,
                    amount(c["spend"]),
                    _cell(c[words.channel_key("contribution")], words.figure),
                    returned,
                    f"{fit:.2f}" if i == 0 and fit is not None else "",
                ]
            )
    lines = ["", "By geo (the table above is their total; each geo's returns are drawn towards the national figure):"]
    per_spend = "CPA median" if words.has_cpa else "return per spend"
    return lines + table(["geo", "channel", "spend", words.noun if words.is_count else "contribution", per_spend, "fit R²"], rows, left=2)


def _channel_lines(result: FitSummary) -> list[str]:
    """The per-channel table of a revenue fit (best ROAS first), and what net ROI's full cost counts."""
    summary = result.to_dict()
    header = ["channel", "tier", "spend", "contribution", "share", "ROAS", "net ROI", "marginal ROAS"]
    rows = []
    for name, c in sorted(summary["channels"].items(), key=lambda kv: -kv[1]["roas"]["mean"]):
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
    lines = table(header, rows, left=2)
    costed = [(n, c) for n, c in result.channels.items() if len(c.cost_lines) > 1]
    if costed:
        lines += ["", "ROAS is on media spend alone; net ROI is on the full cost, which counts:"]
        for n, c in costed:
            lines.append(f"  {n}: " + " + ".join(f"{label} {amount(v)}" for label, v in c.cost_lines.items()) + f" = {amount(c.cost)}")
    return lines


def format_model_choice(choice: ModelChoice) -> str:
    """The candidate forms compared under 'auto', best predictive accuracy first, and the one chosen."""
    header = ["form (adstock + saturation)", "elpd_loo", "gap to best", "weight", "holdout MAPE", "fit s", ""]
    rows = [
        [
            c.label,
            f"{c.elpd_loo:.1f} ± {c.se:.1f}",
            f"{c.elpd_diff:.1f} ± {c.diff_se:.1f}",
            f"{c.weight:.2f}",
            pct(c.holdout_mape) if c.holdout_mape is not None else "-",
            f"{c.fit_seconds:.0f}",
            "chosen" if c.chosen else "",
        ]
        for c in choice.candidates
    ]
    lines = [f"Model form chosen by {choice.criterion} (higher elpd_loo predicts left-out periods better):"]
    lines += ["  " + r for r in table(header, rows)]
    lines.append(f"  {choice.reason}")
    if any(c.bad_pareto_k for c in choice.candidates):
        lines.append("  Some periods have Pareto k > 0.7 (unusual weeks the LOO estimate is unsure about); a --holdout check helps.")
    return "\n".join(lines)


VERDICTS = {
    "PASS": "fit to advise.",
    "REVIEW": "usable; read the checks marked REVIEW before planning.",
    "FAIL": "NOT fit to advise: `mmm optimize` and `mmm scenario` refuse it until the checks marked FAIL are fixed (--force plans anyway).",
}


def format_review(review: Review, title: str, verdicts: dict[str, str] | None = None) -> str:
    """A review as lines 'STATUS  check: what it means and what to do', worst first, under its status
    (and the verdict `verdicts` gives that status)."""
    verdict = f", {verdicts[review.status]}" if verdicts else ""
    lines = [f"{title}: {review.status} (score {review.score}/100){verdict}"]
    for c in sorted(review.checks, key=lambda c: -STATUSES.index(c.status)):
        lines.append(f"  {c.status:<6}  {c.name}: {c.message}")
    return "\n".join(lines)


def _policy_text(shares: dict[str, float]) -> str:
    return " / ".join(f"{t} {pct(s)}" for t, s in shares.items())


def budget_lines(optimization: OptimizationResult, currency: str) -> list[str]:
    """How the total was chosen (`--budget auto`) and, given a margin, the plan's expected profit with its 90% interval."""
    o, words = optimization, outcome_for(optimization.forecast.outcome)
    lines = []
    if o.budget_curve is not None:
        c = o.budget_curve
        why = {
            "profit": f"the profit-maximising budget at a {100 * (o.margin or 0):g}% margin",
            "target_cpa": f"spend until the marginal CPA rises to {currency} {cost(o.target_cpa or 0)}",
        }.get(o.budget_mode, f"spend until the marginal {words.return_label} falls to {ratio(o.target_mroas or 0)}")
        lines.append(
            f"Total chosen: {currency} {amount(c.recommended_budget)}, {why} ({words.marginal_label()} there "
            f"{marginal(c.recommended_mroas, words.is_money)}; current budget {currency} {amount(c.current_budget)})."
        )
    if o.expected_profit is not None:
        lines.append(
            f"Expected profit ({100 * (o.margin or 0):g}% of the "
            + (
                f"value of the incremental {words.noun}, {cost(o.value_per_conversion)} each,"
                if o.value_per_conversion
                else f"incremental {words.noun}"
            )
            + " minus the spend): "
            f"{currency} {_cell(o.expected_profit.model_dump(), amount)}."
        )
    return lines


def format_optimize_table(optimization: OptimizationResult, currency: str) -> str:
    """The recommended budget against the current mix, tier totals, and what each earns."""
    result = optimization.to_dict()
    words = outcome_for(optimization.forecast.outcome)
    noun = words.noun
    lines = [
        f"Budget {currency} {amount(result['budget'])} over {result['weeks']} periods; "
        f"tiers {_policy_text(result['tiers'])}" + (f"; risk aversion {result['risk']:g}" if result["risk"] else "") + ".",
        *budget_lines(optimization, currency),
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
                marginal(a["mroas"], words.is_money),
                a["bound"] or "",
            ]
        )
    lines += table(["channel", "tier", "current", "recommended", "per period", "change", words.marginal_label(), "at bound"], rows, left=2)
    lines += ["", "Tier totals: " + ", ".join(f"{t} {amount(v)}" for t, v in result["tier_totals"].items()) + "."]
    exp = result["expected"]
    lines += [
        "",
        f"Expected incremental {noun} over the {result['weeks']} periods and the carry-over after them, mean (90% interval):",
        f"  recommended plan: {_cell(exp['recommended'], words.figure)}  {plan_return(result, 'recommended', words.is_money)}",
        f"  current mix:      {_cell(exp['current'], words.figure)}  {plan_return(result, 'current', words.is_money)}",
        f"  difference:       {_cell(result['uplift'], words.figure)}",
        f"Probability that the recommended plan {words.more} than the current mix: {pct(result['prob_better'])}.",
    ]
    checks = [
        f"{t} {'yes' if o['equal_mroas'] else 'NO'} (spread {pct(o['mroas_spread'])})"
        for t, o in result["optimality"].items()
        if len(o["unbound_channels"]) > 1
    ]
    if checks:
        what = "region-channel cells" if optimization.geo_allocation == "cells" else "channels"
        lines.append(f"Optimum check, equal {words.marginal_label()} across each tier's unbound {what}: " + ", ".join(checks) + ".")
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
    fig = words.figure
    rows = [[d, fig(m), f"{fig(lo)} to {fig(hi)}"] for d, m, lo, hi in zip(result["dates"], t["mean"], t["low"], t["high"])]
    lines += table(["period", "expected target", "90% interval"], rows)
    lines += [
        "",
        f"Expected target over the plan: {_cell(result[words.expected], fig)}.",
        f"Incremental {words.noun} from the plan (with carry-over): {_cell(result[words.incremental], fig)}.",
    ]
    if result.get("roas") and words.is_money:
        lines.append(f"ROAS of the plan: {_cell(result['roas'], ratio)}.")
    incremental = result[words.incremental]["mean"]
    if not words.is_money and result["spend"] > 0 and incremental > 0:
        lines.append(f"CAC of the plan (its spend per incremental conversion, on the mean): {cost(result['spend'] / incremental)}.")
    if result.get("prob_better_than_current") is not None:
        lines.append(
            f"Probability that it {words.more} than the current mix at the same budget: {pct(result['prob_better_than_current'])}."
        )
    return "\n".join(lines)


def format_runs_table(listing: list[dict[str, Any]]) -> str:
    """Fitted models, newest first, with what was planned on each."""
    rows = []
    for r in listing:
        conv = {True: "yes", False: "NO", None: "?"}[r["converged"]]
        r2 = f"{r['r2']:.3f}" if r["r2"] is not None else "?"
        review = r.get("review") or "?"
        rows.append(
            [
                r["run_id"],
                r["name"] or "",
                r["started"] or "",
                r["data_period"],
                r2,
                conv,
                review,
                r["status"],
                r["scenarios"],
                r["optimizations"],
            ]
        )
    header = ["run id", "name", "started (UTC)", "data period", "R²", "converged", "review", "status", "scenarios", "optimisations"]
    return "\n".join(table(header, rows, left=4))


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
