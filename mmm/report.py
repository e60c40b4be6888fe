"""The model report: one self-contained HTML file a marketing lead can read, share and print.

`build_report(model, summary, optimization)` returns the HTML (charts embedded as base64 PNG,
no external files, fonts or scripts) and the charts as PNG bytes. Every number in the text
and tables is read from the fit summary (`mmm.summary.fit_summary`, the dict `mmm fit
--output-json` writes) or the optimise result (`optimize.json`), formatted as here, so the
report always says what the JSON says. The charts show the posterior behind those numbers.

`report_for_run` reads a fit run (and its latest optimisation) from MLflow, and `log_report`
stores the report with the run: MLflow stays out of the builder and the charts.
"""

from __future__ import annotations

import base64
import html
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from mmm import plots
from mmm.formatting import amount, pct, ratio
from mmm.decomposition import INTERVAL, carryover
from mmm.planning import ConstantPlanResponse
from mmm.sampling import ESS_MIN, RHAT_MAX
from mmm.transforms import saturate

ARTIFACT_DIR = "report"
REPORT_FILE = "report.html"
SECTIONS = {
    "summary": "Executive summary",
    "fit": "How well the model fits",
    "contributions": "What drove revenue over time",
    "returns": "Return on spend by channel",
    "response": "Response curves: what more or less spend would do",
    "carryover": "How long each channel's effect lasts",
    "budget": "Recommended budget",
    "diagnostics": "Appendix: model diagnostics",
}
CURVE_REACH = 1.5  # response curves run to 1.5x the highest spend seen (the optimiser's default cap)
CURVE_POINTS = 121
UNIT = {"weekly": "week", "daily": "day"}
PARAM_LABELS = {
    "roas": "ROAS", "adstock_alpha": "carry-over", "adstock_shape": "carry-over shape", "adstock_scale": "carry-over length",
    "half_saturation": "saturation point", "hill_slope": "curve steepness", "logistic_lam": "saturation speed",
    "level_offset": "baseline level", "trend": "trend", "season": "seasonality", "control_coef": "other driver",
    "sigma": "noise", "nu": "outlier weight",
}


class Report(NamedTuple):
    """The report as HTML text and its charts as PNG bytes, by file name (e.g. 'fit.png')."""

    html: str
    images: dict[str, bytes]


# ---- number formats: one place, used by every sentence and table --------------------------------

def money(x: float, currency: str) -> str:
    """'EUR 1,234,567' (negative: '-EUR 1,234')."""
    return f"{'-' if x < 0 else ''}{currency} {abs(x):,.0f}"


def signed_money(x: float, currency: str) -> str:
    """'+EUR 1,234' or '-EUR 1,234'."""
    return f"{'-' if x < 0 else '+'}{currency} {abs(x):,.0f}"


def interval_text(stat: dict[str, float], fmt: Any) -> str:
    """'2.10 (90% range 1.70 to 2.60)'."""
    return f"{fmt(stat['mean'])} (90% range {fmt(stat['low'])} to {fmt(stat['high'])})"


def _names(items: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    items = [f"<strong>{html.escape(i)}</strong>" for i in items]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _by_roas(summary: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return sorted(summary["channels"].items(), key=lambda kv: -kv[1]["roas"]["mean"])


def _unit(summary: dict[str, Any]) -> str:
    return UNIT.get(summary["data"]["frequency"], "period")


# ---- the executive summary: sentences from the numbers -------------------------------------------

def trust_verdict(summary: dict[str, Any]) -> tuple[str, str, list[str]]:
    """(level: good | warn | bad, headline, sentences) on whether the model can be trusted."""
    dg, fit, unit = summary["diagnostics"], summary["fit"], _unit(summary)
    checks = (f"R-hat {dg['max_rhat']:.3f}, needs {RHAT_MAX:g} or less; ESS {dg['min_ess_bulk']:.0f}, needs {ESS_MIN:g} or "
              f"more; {dg['divergences']} divergences, needs 0; see the appendix")
    out = []
    if dg["converged"]:
        out.append(f"The estimation checks all passed: the independent sampling runs agree and there are enough "
                   f"independent draws to pin the numbers down ({checks}).")
    else:
        out.append(f"<strong>The estimation checks did not pass</strong> ({checks}), so the numbers in this report may still "
                   "move. Do not base decisions on them until the model has been fitted again: "
                   + "; ".join(html.escape(p) for p in dg["problems"]) + ".")
    r2, mape = fit["r2"], fit["mape"]
    closeness = "closely" if r2 >= 0.8 and mape <= 0.1 else ("reasonably" if r2 >= 0.5 and mape <= 0.2 else "only loosely")
    out.append(f"The model follows revenue {closeness}: it explains {pct(r2)} of the {unit}-to-{unit} ups and downs "
               f"(R² {r2:.3f}) and is off by {pct(mape)} in a typical {unit} (MAPE).")
    weak_fit = closeness == "only loosely"
    if "holdout" in summary:
        h = summary["holdout"]
        out.append(f"On the last {h['periods']} {unit}s, kept out of the fit as a test, it was off by {pct(h['mape'])} in a "
                   f"typical {unit}, and actual revenue fell inside its 90% range in {pct(h['coverage'])} of them "
                   f"(about 90% is right).")
        weak_fit = weak_fit or h["coverage"] < 0.6 or h["mape"] > 2 * max(mape, 0.01)
    if not dg["converged"]:
        return "bad", "Not yet", out
    if weak_fit:
        out.append("The fit is weaker than usual: some driver of revenue may be missing from the data; "
                   "read the channel numbers with care.")
        return "warn", "Use with care", out
    return "good", "Good", out


def executive_summary(summary: dict[str, Any], optimization: dict[str, Any] | None = None) -> list[str]:
    """Paragraphs (HTML) for the marketing lead, each number read from the summary or optimise dicts."""
    cur, unit = summary["currency"], _unit(summary)
    chans = _by_roas(summary)
    paras = []

    top, c = chans[0]
    r, m = c["roas"], c["mroas"]
    text = (f"<strong>Best returns.</strong> <strong>{html.escape(top)}</strong> brings back the most per unit of spend: every "
            f"{cur} 1 spent on it returned {cur} {ratio(r['mean'])} in extra revenue (90% range {ratio(r['low'])} to "
            f"{ratio(r['high'])}).")
    if len(chans) > 1:
        nxt = [f"<strong>{html.escape(n)}</strong> ({ratio(s['roas']['mean'])}; range {ratio(s['roas']['low'])} to "
               f"{ratio(s['roas']['high'])})" for n, s in chans[1:3]]
        text += " Next come " + (" and ".join(nxt)) + "."
    text += (f" Returns shrink as spend grows: at today's spend the next {cur} 1 in {html.escape(top)} brings about "
             f"{cur} {ratio(m['mean'])} (marginal ROAS, range {ratio(m['low'])} to {ratio(m['high'])}).")
    paras.append(text)

    sure = [n for n, s in chans if s["roas"]["low"] > 1]
    open_ = [n for n, s in chans if s["roas"]["low"] <= 1 <= s["roas"]["high"]]
    below = [n for n, s in chans if s["roas"]["high"] < 1]
    text = "<strong>How sure we are.</strong>"
    if sure:
        text += (f" {_names(sure)} clearly earn{'s' if len(sure) == 1 else ''} back more than "
                 f"{'its' if len(sure) == 1 else 'their'} media spend: even the low end of the range is above 1.")
    if open_:
        text += (f" For {_names(open_)} the range includes 1, so the data cannot yet tell whether "
                 f"{'it pays' if len(open_) == 1 else 'they pay'} back; a test (pausing a channel in some regions or "
                 f"{unit}s) would settle it.")
    if below:
        text += (f" {_names(below)} very likely return{'s' if len(below) == 1 else ''} less than "
                 f"{'it costs' if len(below) == 1 else 'they cost'}: even the high end of the range is below 1.")
    with_costs = [n for n, s in chans if abs(s["cost"] - s["spend"]) > 0.005]
    if with_costs:
        parts = [f"{html.escape(n)} {ratio(summary['channels'][n]['roi']['mean'])} "
                 f"(range {ratio(summary['channels'][n]['roi']['low'])} to {ratio(summary['channels'][n]['roi']['high'])})"
                 for n in with_costs]
        text += (" Counting fees and production costs too, the net return per unit of cost (net ROI, 0 = break-even) is "
                 + ", ".join(parts) + ".")
    paras.append(text)

    ms, d = summary["marketing_share"], summary["data"]
    paras.append(f"<strong>What marketing drove.</strong> Paid marketing drove <strong>{pct(ms['mean'])}</strong> of the "
                 f"{money(d['target_total'], cur)} revenue from {d['first_date']} to {d['last_date']} (90% range "
                 f"{pct(ms['low'])} to {pct(ms['high'])}). The rest is the baseline: what would have sold without paid "
                 "marketing (brand, repeat customers, season, price).")

    level, headline, sentences = trust_verdict(summary)
    paras.append(f"<strong>Can we trust the model? {headline}.</strong> " + " ".join(sentences))

    if optimization:
        paras += optimization_summary(optimization, cur, unit, summary["diagnostics"]["converged"])
    return paras


def _tier_policy(opt: dict[str, Any]) -> str:
    return " / ".join(f"{t} {pct(s)}" for t, s in opt["tiers"].items())


def optimization_summary(opt: dict[str, Any], cur: str, unit: str, converged: bool = True) -> list[str]:
    """The recommended shift and what it is expected to earn, in sentences."""
    alloc = opt["allocation"]
    ups = sorted((ch for ch, a in alloc.items() if a["change"] > 0.5), key=lambda ch: -alloc[ch]["change"])
    downs = sorted((ch for ch, a in alloc.items() if a["change"] < -0.5), key=lambda ch: alloc[ch]["change"])

    def move(ch: str) -> str:
        a = alloc[ch]
        rel = "new" if a["change_pct"] is None else f"{a['change_pct']:+.0%}"
        return f"<strong>{html.escape(ch)}</strong> ({signed_money(a['change'], cur)}, {rel})"

    text = (f"<strong>Recommended budget.</strong> For {money(opt['budget'], cur)} over the next {opt['weeks']} {unit}s, "
            f"split by tier {_tier_policy(opt)}, the model recommends ")
    if ups or downs:
        bits = []
        if ups:
            bits.append("moving money to " + ", ".join(move(ch) for ch in ups[:3]))
        if downs:
            bits.append("away from " + ", ".join(move(ch) for ch in downs[:3]))
        text += " and ".join(bits) + ", compared with the current mix (the split of the last "
        text += f"{opt['weeks']} {unit}s at the same budget)."
    else:
        text += "keeping the current mix."
    exp, up = opt["expected"], opt["uplift"]
    text2 = (f"<strong>Expected effect.</strong> Extra revenue from marketing over these {opt['weeks']} {unit}s "
             f"(including the carry-over into the {unit}s after): "
             f"{money(exp['recommended']['mean'], cur)} with the recommended plan (90% range {amount(exp['recommended']['low'])} "
             f"to {amount(exp['recommended']['high'])}) against {money(exp['current']['mean'], cur)} with the current mix "
             f"(range {amount(exp['current']['low'])} to {amount(exp['current']['high'])}): a difference of "
             f"<strong>{signed_money(up['mean'], cur)}</strong> (90% range {amount(up['low'])} to {amount(up['high'])}). "
             f"The chance that the recommended plan earns more than the current mix is <strong>{pct(opt['prob_better'])}</strong>.")
    if up["low"] < 0:
        text2 += " The range includes a loss: treat the shift as a test to run, not a certainty."
    if not converged:
        text2 += " The model has not converged, so this recommendation is provisional."
    return [text, text2] + [f"Note: {html.escape(w)}." for w in opt.get("warnings", [])]


# ---- what the charts show, from the posterior ----------------------------------------------------

def _band(draws: np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lo, hi = np.quantile(draws, [(1 - INTERVAL) / 2, (1 + INTERVAL) / 2], axis=axis)
    return draws.mean(axis=axis), lo, hi


def response_curves(model: Any, params: dict[str, np.ndarray], summary: dict[str, Any],
                    optimization: dict[str, Any] | None, colors: dict[str, str]) -> list[dict[str, Any]]:
    """Long-run incremental revenue per period of spending x every period, per channel.

    With the same spend every period, carried-over spend equals that spend (the carry-over
    weights sum to one), so the curve is the channel's saturation curve times its multiplier.
    """
    spec = model.config.model
    scale = np.asarray(model.scaling.spend, dtype=float)
    seen_max = model.data.spend[: model.n_train].max(axis=0)
    periods = summary["data"]["periods"]
    coef = params["channel_coef"] * model.scaling.target  # (draw, channel), currency per period at saturation 1
    curves = []
    for i, ch in enumerate(model.channels):
        entry = summary["channels"][ch]
        average = entry["spend"] / periods
        planned = optimization["allocation"][ch]["weekly"] if optimization else None
        reach = max(CURVE_REACH * seen_max[i], 1.1 * (planned or 0.0), 1.1 * average)
        grid = np.linspace(0.0, reach, CURVE_POINTS)
        points = np.concatenate([grid, [average] + ([planned] if planned is not None else [])])
        x = np.zeros((len(points), len(scale)))
        x[:, i] = points / scale[i]
        revenue = coef[:, None, i] * saturate(spec.saturation, x, params, np)[:, :, i]  # (draw, point)
        mean, lo, hi = _band(revenue)
        curves.append({
            "name": ch, "tier": entry["tier"], "color": colors[ch], "spend": grid,
            "mean": mean[:CURVE_POINTS], "low": lo[:CURVE_POINTS], "high": hi[:CURVE_POINTS],
            "observed_max": float(seen_max[i]), "current": (average, float(mean[CURVE_POINTS])), "mroas": entry["mroas"],
            "planned": (planned, float(mean[CURVE_POINTS + 1])) if planned is not None else None,
        })
    return curves


def parameter_diagnostics(model: Any) -> list[dict[str, Any]]:
    """R-hat and bulk ESS of every sampled quantity (those `mmm.sampling.diagnose` judges)."""
    import arviz as az

    post = model.idata.posterior
    names = [v for v in post.data_vars if not str(v).endswith("__") and v not in ("intercept", "channel_coef")]
    rhat = az.rhat(post[names])
    ess = az.ess(post[names], method="bulk")
    rows = []
    for v in names:
        r, e = rhat[v], ess[v]
        label = PARAM_LABELS.get(str(v), str(v))
        if r.ndim == 0:
            rows.append({"label": label, "rhat": float(r), "ess": float(e)})
            continue
        dim = r.dims[0]
        for j, coord in enumerate(r[dim].values):
            name = f"{label} term {j + 1}" if dim == "fourier" else f"{label}: {coord}"
            rows.append({"label": name, "rhat": float(r.values[j]), "ess": float(e.values[j])})
    return rows


def plan_draws(model: Any, optimization: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Incremental revenue draws (recommended, current) of an optimisation's plans, as the optimiser computed them."""
    alloc = optimization["allocation"]
    response = ConstantPlanResponse(model, optimization["weeks"], n_draws=None)
    rec = np.array([alloc[ch]["weekly"] for ch in model.channels])
    now = np.array([alloc[ch]["current_weekly"] for ch in model.channels])
    return response.revenue_draws(rec).sum(axis=1), response.revenue_draws(now).sum(axis=1)


# ---- HTML ------------------------------------------------------------------------------------------

CSS = """
:root { --ink:#1f2933; --muted:#616e7c; --line:#d9e2ec; --soft:#f5f7fa; --accent:#1f6fb2;
        --good:#1b7837; --warn:#b7791f; --bad:#b2182b; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: var(--soft); color: var(--ink); line-height: 1.5; font-size: 15px;
       font-family: -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "DejaVu Sans", sans-serif; }
main { max-width: 1060px; margin: 0 auto; background: #fff; padding: 36px 52px 48px; }
header { border-bottom: 3px solid var(--accent); padding-bottom: 12px; margin-bottom: 8px; }
h1 { font-size: 28px; margin: 0 0 4px; }
h2 { font-size: 21px; margin: 0 0 10px; padding-top: 8px; color: var(--accent); }
h3 { font-size: 16px; margin: 18px 0 6px; }
.meta { color: var(--muted); font-size: 13px; margin: 0; }
section { padding-top: 22px; margin-top: 18px; border-top: 1px solid var(--line); }
section:first-of-type { border-top: none; margin-top: 0; }
nav.toc { font-size: 13px; margin: 10px 0 0; display: flex; flex-wrap: wrap; gap: 2px 16px; }
nav.toc a { color: var(--accent); text-decoration: none; white-space: nowrap; }
.cards { display: grid; grid-template-columns: repeat(4, 1fr); gap: 12px; margin: 16px 0 18px; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; background: #fff; }
.card .label { font-size: 12px; color: var(--muted); text-transform: uppercase; letter-spacing: .03em; }
.card .big { font-size: 22px; font-weight: 650; margin: 2px 0; }
.card .small { font-size: 12.5px; color: var(--muted); }
.card.good { border-left: 5px solid var(--good); } .card.warn { border-left: 5px solid var(--warn); }
.card.bad { border-left: 5px solid var(--bad); } .good .big { color: var(--good); } .warn .big { color: var(--warn); }
.bad .big { color: var(--bad); }
p { margin: 0 0 10px; }
.summary p { font-size: 15.5px; }
.explain { background: var(--soft); border-radius: 8px; padding: 10px 16px; font-size: 13px; color: #323f4b; }
.explain dt { font-weight: 650; float: left; clear: left; width: 150px; }
.explain dd { margin: 0 0 4px 160px; }
.note { background: #fff8e1; border-left: 4px solid #f0b429; padding: 8px 12px; border-radius: 4px; }
.ok { background: #e9f5ec; border-left: 4px solid var(--good); padding: 8px 12px; border-radius: 4px; }
.alert { background: #fdecea; border-left: 4px solid var(--bad); padding: 8px 12px; border-radius: 4px; }
figure { margin: 14px 0 16px; }
figure img { display: block; width: 100%; height: auto; }
figcaption { color: var(--muted); font-size: 13px; margin-top: 4px; }
table { border-collapse: collapse; width: 100%; font-size: 13px; font-variant-numeric: tabular-nums; margin: 8px 0 14px; }
th, td { padding: 5px 7px; border-bottom: 1px solid var(--line); text-align: right; vertical-align: top; }
th { font-size: 12px; color: var(--muted); font-weight: 600; border-bottom: 2px solid var(--line); }
th:first-child, td:first-child, .l { text-align: left; }
td { white-space: nowrap; } td.l, td.wrap { white-space: normal; }
td .r { display: block; font-size: 11px; color: var(--muted); white-space: nowrap; }
tr.tier td { font-weight: 650; background: var(--soft); }
.tag { display: inline-block; font-size: 11px; padding: 0 6px; border-radius: 9px; color: #fff; }
.tag.proven { background: #1b7837; } .tag.test { background: #d9730d; } .tag.experimental { background: #7b3294; }
ul.plain { margin: 4px 0 10px; padding-left: 20px; font-size: 13.5px; }
footer { margin-top: 28px; color: var(--muted); font-size: 12px; border-top: 1px solid var(--line); padding-top: 8px; }
@media screen and (max-width: 760px) { main { padding: 20px; } .cards { grid-template-columns: repeat(2, 1fr); } }
@page { size: A4; margin: 13mm 12mm 14mm; }
@media print {
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  body { background: #fff; font-size: 10.5pt; }
  main { max-width: none; padding: 0; }
  nav.toc { display: none; }
  section { break-before: page; page-break-before: always; border-top: none; margin-top: 0; padding-top: 0; }
  section:first-of-type { break-before: auto; page-break-before: auto; }
  h2, h3 { break-after: avoid; page-break-after: avoid; }
  figure, table, .cards, .card, .note, .ok, .alert, .keep, tr, dt, dd { break-inside: avoid; page-break-inside: avoid; }
  figure img { max-height: 205mm; width: auto; max-width: 100%; margin: 0 auto; }
  .summary p { font-size: 10.5pt; margin-bottom: 7px; }
  .cards { margin: 10px 0 12px; } .card .big { font-size: 14pt; white-space: nowrap; } .card .label { font-size: 7.5pt; } .card .small { font-size: 8pt; }
  .explain { font-size: 9pt; padding: 6px 12px; } table { font-size: 9pt; }
  a { color: inherit; text-decoration: none; }
}
"""


def _img(name: str, images: dict[str, bytes], alt: str, caption: str) -> str:
    data = base64.b64encode(images[name]).decode("ascii")
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(alt)}" data-name="{name}">'
            f"<figcaption>{caption}</figcaption></figure>")


def _cell(stat: dict[str, float], fmt: Any) -> str:
    return f"{fmt(stat['mean'])}<span class=\"r\">{fmt(stat['low'])} to {fmt(stat['high'])}</span>"


def _tag(tier: str) -> str:
    return f'<span class="tag {html.escape(tier)}">{html.escape(tier)}</span>'


def _section(key: str, body: str) -> str:
    return f'<section id="{key}"><h2>{html.escape(SECTIONS[key])}</h2>\n{body}\n</section>'


def _cards(summary: dict[str, Any], optimization: dict[str, Any] | None) -> str:
    cur = summary["currency"]
    ms = summary["marketing_share"]
    top, c = _by_roas(summary)[0]
    level, headline, _ = trust_verdict(summary)
    f = summary["fit"]
    cards = [
        ("", "Marketing's share of revenue", pct(ms["mean"]), f"90% range {pct(ms['low'])} to {pct(ms['high'])}"),
        ("", f"Best return per {cur} 1", f"{html.escape(top)}: {ratio(c['roas']['mean'])}",
         f"90% range {ratio(c['roas']['low'])} to {ratio(c['roas']['high'])}"),
        (level, "Can we trust the model?", headline,
         f"{'checks passed' if summary['diagnostics']['converged'] else 'checks failed'}; R² {f['r2']:.3f}, MAPE {pct(f['mape'])}"),
    ]
    if optimization:
        cards.append(("", "Recommended plan vs now", signed_money(optimization["uplift"]["mean"], cur),
                      f"chance it earns more: {pct(optimization['prob_better'])}"))
    else:
        cards.append(("", "Recommended plan", "not run yet", "run mmm optimize"))
    return '<div class="cards">' + "".join(
        f'<div class="card {lvl}"><div class="label">{label}</div><div class="big">{big}</div><div class="small">{small}</div></div>'
        for lvl, label, big, small in cards) + "</div>"


def _glossary(cur: str) -> str:
    items = [
        ("90% range", "We are 90% sure the true value lies in this range; the narrower, the surer. Every figure is "
                      "shown as the most likely value with its range."),
        ("ROAS", f"Return on ad spend: extra revenue the channel caused per {cur} 1 of media spend. Above 1, the "
                 "channel earns back its media spend in revenue."),
        ("Net ROI", "(extra revenue - all costs of the channel) / all costs, where costs include fees and production. "
                    "0 is break-even. Revenue, not profit: the cost of the goods sold is not deducted."),
        ("Marginal ROAS", f"Extra revenue from the next {cur} 1 at today's spend level. Lower than ROAS when a channel "
                          "is past its sweet spot: it says where the next money works hardest."),
        ("Baseline", "Revenue that would have come without paid marketing: brand, repeat customers, season, price."),
    ]
    return '<dl class="explain">' + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in items) + "</dl>"


def _returns_table(summary: dict[str, Any]) -> str:
    cur = summary["currency"]
    head = ["channel", "tier", f"spend ({cur})", f"extra revenue ({cur})", "share of revenue", "ROAS", "net ROI", "marginal ROAS"]
    rows = []
    for name, c in _by_roas(summary):
        rows.append(
            f"<tr><td>{html.escape(name)}</td><td class=\"l\">{_tag(c['tier'])}</td><td>{amount(c['spend'])}</td>"
            f"<td>{_cell(c['contribution'], amount)}</td><td>{_cell(c['contribution_share'], pct)}</td>"
            f"<td>{_cell(c['roas'], ratio)}</td><td>{_cell(c['roi'], ratio)}</td><td>{_cell(c['mroas'], ratio)}</td></tr>")
    cells = "".join('<th class="l">tier</th>' if h == "tier" else f"<th>{h}</th>" for h in head)
    return "<table><thead><tr>" + cells + "</tr></thead><tbody>" + "".join(rows) + "</tbody></table>"


def _budget_table(opt: dict[str, Any], cur: str, unit: str) -> str:
    alloc = opt["allocation"]
    head = ["channel", f"now ({cur})", f"recommended ({cur})", f"per {unit}", "change", "marginal ROAS at the plan", "limit reached"]
    rows = []
    for tier in [t for t in plots.TIER_ORDER if t in opt["tier_totals"]] + [t for t in opt["tier_totals"] if t not in plots.TIER_ORDER]:
        chans = sorted((ch for ch, a in alloc.items() if a["tier"] == tier), key=lambda ch: -alloc[ch]["total"])
        if not chans:
            continue
        now = sum(alloc[ch]["current_total"] for ch in chans)
        rows.append(f"<tr class=\"tier\"><td>{_tag(tier)} {pct(opt['tiers'][tier])} of the budget</td><td>{amount(now)}</td>"
                    f"<td>{amount(opt['tier_totals'][tier])}</td><td></td><td></td><td></td><td></td></tr>")
        for ch in chans:
            a = alloc[ch]
            rel = "new" if a["change_pct"] is None else f"{a['change_pct']:+.0%}"
            limit = {"max": "at its maximum", "min": "at its minimum"}.get(a["bound"], "")
            rows.append(f"<tr><td>&nbsp;&nbsp;{html.escape(ch)}</td><td>{amount(a['current_total'])}</td><td>{amount(a['total'])}</td>"
                        f"<td>{amount(a['weekly'])}</td><td>{signed_money(a['change'], cur)} ({rel})</td>"
                        f"<td>{ratio(a['mroas'])}</td><td>{limit}</td></tr>")
    return ("<table><thead><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>")


def build_report(model: Any, summary: dict[str, Any], optimization: dict[str, Any] | None = None,
                 title: str = "Marketing mix report") -> Report:
    """The report of a fitted model (and optionally one optimisation of it) as HTML and PNG charts.

    summary: the model's `fit_summary` dict; optimization: an `optimize.json` dict made from the
    same model (its `run_id` must be the summary's), or None to leave the budget section out.
    """
    if optimization is not None and summary.get("run_id") and optimization.get("run_id") not in (None, summary["run_id"]):
        raise ValueError(f"the optimisation was made from run {optimization['run_id']}, not from {summary['run_id']}")
    cur, unit = summary["currency"], _unit(summary)
    d = model.data
    params = model.posterior_params()
    colors = plots.channel_colors(model.channels)
    images: dict[str, bytes] = {}
    sections: list[str] = []

    # 1. executive summary
    paras = "".join(f"<p>{p}</p>" for p in executive_summary(summary, optimization))
    sections.append(_section("summary", f'{_cards(summary, optimization)}<div class="summary">{paras}</div>'
                                        f"<h3>How to read the numbers</h3>{_glossary(cur)}"))

    # 2. fit
    comps = model.in_sample_components(params)
    sims = model.sample_observations(comps["mean"], seed=0, params=params)
    _, lo, hi = _band(sims)
    predicted = comps["mean"].mean(axis=0)
    images["fit.png"] = plots.fit_chart(d.dates, d.target, predicted, lo, hi, model.n_train, cur, unit)
    f = summary["fit"]
    text = (f"<p>The dark line is actual revenue per {unit}, the blue line what the model expects given spend, season, trend "
            f"and the other drivers; the shaded band is where the model expects 90% of {unit}s to fall. Over the "
            f"{summary['data']['periods']} {unit}s it was fitted on it explains {pct(f['r2'])} of the ups and downs "
            f"(R² {f['r2']:.3f}); a typical {unit} is off by {pct(f['mape'])} (MAPE), and the typical error is "
            f"{pct(f['nrmse'])} of the range of revenue (NRMSE).</p>")
    if "holdout" in summary:
        h = summary["holdout"]
        text += (f"<p>The last {h['periods']} {unit}s (shaded yellow) were kept out of the fit to test it on data it had not "
                 f"seen: there it was off by {pct(h['mape'])} in a typical {unit} (NRMSE {pct(h['nrmse'])}), and actual revenue "
                 f"fell inside the 90% band in {pct(h['coverage'])} of them.</p>")
    else:
        text += (f"<p class=\"note\">No {unit}s were held out to test the model on unseen data; fit it with "
                 f"<code>--holdout N</code> for that check.</p>")
    sections.append(_section("fit", text + _img("fit.png", images, "Actual and predicted revenue over time",
                                                "Actual revenue against the model, with the model's 90% range.")))

    # 3. contributions over time
    mean_of = {k: v.mean(axis=0) for k, v in comps.items()}
    moves = []
    ts = mean_of["trend"] + mean_of["seasonality"]
    if np.any(np.abs(ts) > 0):
        moves.append(("trend + seasonality", ts, plots.TREND))
    if d.control_names:
        moves.append((f"other drivers ({', '.join(d.control_names)})", mean_of["controls"], plots.CONTROLS_LINE))
    channel_layers = [(ch, mean_of["media"][:, i], colors[ch]) for i, ch in enumerate(model.channels)]
    images["contributions.png"] = plots.contributions_chart(d.dates, mean_of["baseline"], moves, channel_layers, d.target, cur, unit)
    text = (f"<p>Each {unit}'s expected revenue split into its sources (most likely values). The grey base is what would "
            f"have sold without paid marketing: the baseline level (dashed line)"
            + (f", moved up or down by {' and by '.join(label for label, _, _ in moves)} (lower panel)" if moves else "")
            + f". The coloured layers on top are what each channel added, including the carry-over of earlier {unit}s' "
              f"spend. The black line is actual revenue.</p>")
    sections.append(_section("contributions", text + _img("contributions.png", images, "Contributions over time",
                                                          "Expected revenue by source, stacked.")))

    # 4. returns per channel
    ordered = _by_roas(summary)
    images["returns.png"] = plots.returns_chart(ordered)
    text = ("<p>What each channel returned over the data period, best ROAS first. Dots are the most likely values, bars "
            "the 90% ranges; colour is the channel's budget tier. A bar that lies wholly right of the dashed break-even "
            "line means the channel clearly paid back; a bar across it means the data cannot yet tell.</p>")
    sections.append(_section("returns", text + _img("returns.png", images, "Share of revenue, ROAS and net ROI per channel",
                                                    "Mean and 90% range per channel, sorted by ROAS.")
                             + _returns_table(summary)
                             + f"<p class=\"meta\">Figures in {cur}; each cell: most likely value, with the 90% range "
                               "below.</p>"))

    # 5. response curves
    curves = response_curves(model, params, summary, optimization, colors)
    images["response_curves.png"] = plots.response_curves_chart(curves, cur, unit)
    text = (f"<p>How much extra revenue a channel brings per {unit} if you spend a given amount every {unit}, once the "
            f"carry-over has built up. Curves flatten as spend grows: each extra {cur} earns less than the one before. The "
            f"dot marks the average spend in the data; the box gives the marginal ROAS there (extra revenue from the next "
            f"{cur} 1). Beyond the dotted vertical line (the highest spend seen in a single {unit}) the curve is dashed: the model "
            f"has no data there and extends the curve's shape, so treat it as a rough guide. The dash-dot grey line is "
            f"revenue = spend.</p>")
    sections.append(_section("response", text + _img("response_curves.png", images, "Response curves per channel",
                                                     f"Extra revenue per {unit} against spend per {unit}, with 90% range.")))

    # 6. carry-over
    # runs fitted before the summary held carry-over get it from the model itself
    carry = {ch: c["carryover"] for ch, c in summary["channels"].items()} if all(
        "carryover" in c for c in summary["channels"].values()) else carryover(model)
    images["carryover.png"] = plots.carryover_chart(carry, colors, unit)
    rows = "".join(
        f"<tr><td>{html.escape(ch)}</td><td>{pct(c['first_period_share'])}</td><td>{c['periods_to_90']['median']}"
        f"<span class=\"r\">{c['periods_to_90']['low']} to {c['periods_to_90']['high']}</span></td></tr>"
        for ch, c in carry.items())
    table = (f"<table><thead><tr><th>channel</th><th>share of the effect in the {unit} of spend</th>"
             f"<th>{unit}s to reach 90% of the effect</th></tr></thead><tbody>{rows}</tbody></table>")
    l_max = model.config.model.l_max
    text = (f"<p>Spend keeps working after the {unit} it is spent: people remember an ad and buy later. Left: how the total "
            f"effect of one {unit}'s spend is spread over the following {unit}s. Right and below: how many {unit}s it takes "
            f"until 90% of the effect has come in (most likely value and 90% range). A channel with a long carry-over should "
            f"be judged over a longer window, and cutting it shows up in revenue only later. The model considers carry-over "
            f"for at most {l_max} {unit}s (<code>model.l_max</code>).</p>")
    sections.append(_section("carryover", text + _img("carryover.png", images, "Carry-over per channel",
                                                      f"Share of the effect per {unit} after spending, and {unit}s to 90%.")
                             + table))

    # 7. recommended budget
    if optimization:
        rec, now = plan_draws(model, optimization)
        images["budget.png"] = plots.budget_chart(optimization["allocation"], optimization["tier_totals"], cur, optimization["weeks"], unit)
        images["plan_outcomes.png"] = plots.plan_outcomes_chart(rec, now, optimization, cur)
        body = "".join(f"<p>{p}</p>" for p in optimization_summary(optimization, cur, unit, summary["diagnostics"]["converged"]))
        body += (f"<p>The budget is first split by tier ({_tier_policy(optimization)}: proven channels get most, a share goes "
                 f"to testing and learning), then within each tier to where the next {cur} earns most, until the marginal "
                 f"ROAS is equal across the tier's channels. The current mix is the split of the last {optimization['weeks']} "
                 f"{unit}s, scaled to the same budget.</p>")
        body += _img("budget.png", images, "Current and recommended spend per channel, by tier",
                     f"Spend per channel over the {optimization['weeks']} {unit}s: now (grey) and recommended (tier colour).")
        body += _budget_table(optimization, cur, unit)
        body += _img("plan_outcomes.png", images, "Expected extra revenue of both plans",
                     "Left: the spread of possible outcomes of each plan (vertical lines: most likely values). Right: the "
                     "recommended plan minus the current mix; green is where the recommendation earns more.")
    else:
        body = ("<p class=\"note\">No budget optimisation has been run on this model yet, so this section is left out. Run "
                f"<code>mmm optimize --run-id {html.escape(str(summary.get('run_id') or 'RUN_ID'))} --budget AMOUNT</code> "
                "and create the report again.</p>")
    sections.append(_section("budget", body))

    # 8. diagnostics appendix
    dg = summary["diagnostics"]
    diag_rows = parameter_diagnostics(model)
    images["diagnostics.png"] = plots.diagnostics_chart(diag_rows, RHAT_MAX, ESS_MIN)
    const = model.idata.constant_data
    roas_post = params["roas"]
    images["roas_priors.png"] = plots.roas_priors_chart(
        model.channels, {ch: summary["channels"][ch]["tier"] for ch in model.channels},
        const["roas_prior_mu"].values, const["roas_prior_sigma"].values, roas_post, colors)
    status = ('<p class="ok">All checks passed.</p>' if dg["converged"] else
              '<p class="alert"><strong>The checks did not pass.</strong> '
              + " ".join(f"{html.escape(p)}." for p in dg["problems"]) + "</p>")
    body = (f"<p>The model is estimated by drawing many plausible versions of it (posterior draws) in several independent "
            f"runs (chains). Three checks say whether there are enough draws and whether the runs agree:</p>"
            f"<table><thead><tr><th>check</th><th>value</th><th>passes at</th><th class=\"l\">what it means</th></tr></thead><tbody>"
            f"<tr><td>R-hat (largest)</td><td>{dg['max_rhat']:.3f}</td><td>{RHAT_MAX:g} or less</td><td class=\"l\">Do the independent "
            f"runs agree? 1.00 is perfect agreement.</td></tr>"
            f"<tr><td>ESS, effective draws (smallest)</td><td>{dg['min_ess_bulk']:.0f} (tails {dg['min_ess_tail']:.0f})</td>"
            f"<td>{ESS_MIN:g} or more</td><td class=\"l\">How many independent draws the estimate rests on; "
            f"more gives steadier ranges.</td></tr>"
            f"<tr><td>Divergences</td><td>{dg['divergences']}</td><td>0</td><td class=\"l\">Places the sampler could not explore "
            f"reliably; any is a warning sign.</td></tr></tbody></table>{status}")
    body += _img("diagnostics.png", images, "R-hat and ESS per estimated quantity",
                 "Every estimated quantity against the pass lines (dashed); red points fail.")
    body += ("<div class=\"keep\"><h3>Starting assumptions against estimates</h3><p>Before seeing the data, the model starts from an assumption "
             "about each channel's ROAS (the prior, dashed line: wide, and the same for every channel unless set in the "
             "config). The filled shape is the estimate after seeing the data (the posterior). Where it is much narrower "
             "than the dashed line, the data taught the model a lot about that channel; where the two look alike, the data "
             "said little and the result mostly repeats the assumption.</p>")
    body += _img("roas_priors.png", images, "ROAS prior and posterior per channel", "ROAS per channel: prior and posterior.") + "</div>"
    m = model.config.model
    body += ("<h3>Model settings</h3><ul class=\"plain\">"
             f"<li>Carry-over: {m.adstock}, up to {m.l_max} {unit}s; diminishing returns: {m.saturation} curve "
             f"(slope {m.hill_slope}); trend: {'yes' if m.trend else 'no'}; yearly seasonality order {m.seasonality_order}; "
             f"errors: {m.likelihood.replace('_', '-')}.</li>"
             f"<li>Data: {html.escape(str(summary['data'].get('source', '')))}, {summary['data']['periods']} "
             f"{summary['data']['frequency']} periods fitted, {summary['data']['first_date']} to {summary['data']['last_date']}.</li>"
             f"<li>Fitted in {summary['fit_seconds']:.1f} s; model run <code>{html.escape(str(summary.get('run_id')))}</code>"
             + (f"; optimisation run <code>{html.escape(str(optimization.get('tracking_run_id')))}</code>" if optimization else "")
             + ".</li></ul>")
    if summary.get("warnings"):
        body += "<h3>Data warnings</h3><ul class=\"plain\">" + "".join(f"<li>{html.escape(w)}</li>" for w in summary["warnings"]) + "</ul>"
    if summary.get("notes"):
        body += "<h3>How each column was used</h3><ul class=\"plain\">" + "".join(f"<li>{html.escape(n)}</li>" for n in summary["notes"]) + "</ul>"
    sections.append(_section("diagnostics", body))

    d0 = summary["data"]
    created = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    toc = "".join(f'<a href="#{k}">{html.escape(v)}</a>' for k, v in SECTIONS.items())
    page = (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{html.escape(title)} {d0['first_date']} to {d0['last_date']}</title><style>{CSS}</style></head><body><main>"
            f"<header><h1>{html.escape(title)}</h1><p class=\"meta\">{d0['periods']} {d0['frequency']} periods, "
            f"{d0['first_date']} to {d0['last_date']} &middot; {len(summary['channels'])} channels &middot; figures in {cur} "
            f"&middot; model run {html.escape(str(summary.get('run_id')))} &middot; created {created}</p>"
            f"<nav class=\"toc\">{toc}</nav></header>\n" + "\n".join(sections)
            + "<footer>Created by mmm, a Bayesian marketing-mix model. Every figure in the text and tables is read from the "
              "model's results (summary.json) and the optimisation (optimize.json) of the runs named above.</footer>"
            + "</main></body></html>\n")
    return Report(page, images)


# ---- MLflow: where the inputs come from and where the report goes ---------------------------------

def latest_optimization(run_id: str, tracking_uri: str | None = None) -> dict[str, Any] | None:
    """The optimize.json of the newest finished optimise run nested under a fit run, or None."""
    import json

    import mlflow

    from mmm.tracking import KIND_TAG, resolve_tracking_uri

    client = mlflow.MlflowClient(tracking_uri=resolve_tracking_uri(tracking_uri))
    parent = client.get_run(run_id)
    runs = client.search_runs(
        [parent.info.experiment_id],
        filter_string=f"tags.`{KIND_TAG}` = 'optimize' and tags.`mlflow.parentRunId` = '{run_id}' and attributes.status = 'FINISHED'",
        order_by=["attributes.start_time DESC"], max_results=1,
    )
    if not runs:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = client.download_artifacts(runs[0].info.run_id, "optimize.json", tmp)
        return json.loads(Path(path).read_text())


def report_for_run(run_id: str, tracking_uri: str | None = None) -> tuple[Report, dict[str, Any] | None]:
    """The report of a fit run and its latest optimisation (None when there is none)."""
    from mmm.tracking import load_fit

    model, summary = load_fit(run_id, tracking_uri)
    optimization = latest_optimization(run_id, tracking_uri)
    return build_report(model, summary, optimization), optimization


def log_report(run_id: str, report: Report, tracking_uri: str | None = None) -> list[str]:
    """Store the report with a run: report/report.html and each chart as report/<name>.png; returns the paths."""
    import mlflow

    from mmm.tracking import resolve_tracking_uri

    client = mlflow.MlflowClient(tracking_uri=resolve_tracking_uri(tracking_uri))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / ARTIFACT_DIR
        folder.mkdir()
        (folder / REPORT_FILE).write_text(report.html, encoding="utf-8")
        for name, png in report.images.items():
            (folder / name).write_bytes(png)
        client.log_artifacts(run_id, str(folder), artifact_path=ARTIFACT_DIR)
    return [f"{ARTIFACT_DIR}/{REPORT_FILE}"] + [f"{ARTIFACT_DIR}/{n}" for n in report.images]
