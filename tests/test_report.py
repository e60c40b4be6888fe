"""The HTML report: sections, charts, numbers equal to the JSON outputs, escaping, MLflow logging, printing.

The report reads typed results only, so these tests build a `FitSummary` and an
`OptimizationResult` by hand (no model is fitted): every number the page prints is compared
with the JSON those results write.
"""

from __future__ import annotations

import ast
import base64
import html
import io
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from helpers import CHROMIUM_ARGS

from mmm.analysis.results import FitSummary
from mmm.core.results import Histogram, Interval, SeriesBand
from mmm.planning.results import OptimizationResult
from mmm.report.build import SECTIONS, Report, build_report, executive_summary

CHROMIUM = Path("/usr/bin/chromium")
ALL_IMAGES = {
    "fit.png",
    "contributions.png",
    "returns.png",
    "response_curves.png",
    "carryover.png",
    "budget.png",
    "plan_outcomes.png",
    "diagnostics.png",
    "roas_priors.png",
}
REPORT_PACKAGE = Path(__file__).resolve().parents[1] / "mmm" / "report"
FORBIDDEN = ("mlflow", "click", "pymc", "arviz", "mmm.model", "mmm.tracking")
CHANNELS = {"search": ("proven", 2.4), "social": ("test", 1.3), "tv": ("experimental", 0.7)}
PERIODS, HOLDOUT, L_MAX = 52, 8, 4


def stat(mean: float, low: float, high: float) -> dict:
    return {"mean": mean, "low": low, "high": high}


def channel(tier: str, roas: float, weekly: float, rng: np.random.Generator) -> dict:
    """One channel's result, shaped as the analysis writes it: intervals, carry-over, response curve, ROAS evidence."""
    spend = weekly * PERIODS
    grid = np.linspace(0, 1.5 * 1.4 * weekly, 61)
    mean = 2 * roas * weekly * (1 - np.exp(-grid / weekly))
    weights = np.array([0.5, 0.3, 0.15, 0.05])
    edges = np.linspace(0, 3 * roas, 61)
    density, _ = np.histogram(rng.lognormal(np.log(roas), 0.2, 2000), bins=edges, density=True)
    return {
        "tier": tier,
        "spend": spend,
        "cost": spend * (1.1 if tier == "test" else 1.0),
        "roas": stat(roas, 0.7 * roas, 1.4 * roas),
        "roi": stat(roas - 1, 0.7 * roas - 1, 1.4 * roas - 1),
        "contribution": stat(roas * spend, 0.7 * roas * spend, 1.4 * roas * spend),
        "contribution_share": stat(0.1, 0.06, 0.15),
        "mroas": stat(roas / 2, roas / 3, roas / 1.5),
        "carryover": {
            "weights": weights.tolist(),
            "low": (weights * 0.8).tolist(),
            "high": (weights * 1.2).tolist(),
            "first_period_share": 0.5,
            "periods_to_90": {"median": 3, "low": 2, "high": 4},
        },
        "response": {
            "spend": grid.tolist(),
            "mean": mean.tolist(),
            "low": (0.8 * mean).tolist(),
            "high": (1.2 * mean).tolist(),
            "observed_max": 1.4 * weekly,
        },
        "roas_evidence": {"prior_mu": 0.0, "prior_sigma": 1.0, "posterior": {"edges": edges.tolist(), "density": density.tolist()}},
    }


def make_summary(
    names: dict[str, tuple[str, float]] = CHANNELS, controls: list[str] | None = None, warnings: list[str] | None = None
) -> FitSummary:
    """A fit of 52 weekly periods plus an 8-week holdout, as `fit_summary` returns it."""
    rng = np.random.default_rng(0)
    n = PERIODS + HOLDOUT
    dates = [str(d) for d in np.arange(np.datetime64("2023-01-02"), np.datetime64("2023-01-02") + 7 * n, 7)]
    media = {name: (roas * 10_000 * (1 + 0.2 * np.sin(np.arange(n) / 3))).tolist() for name, (_, roas) in names.items()}
    baseline = np.full(n, 60_000.0)
    season = 5_000 * np.sin(2 * np.pi * np.arange(n) / 52)
    predicted = baseline + season + np.sum(list(media.values()), axis=0)
    actual = predicted + rng.normal(0, 3_000, n)
    controls = ["price"] if controls is None else controls
    return FitSummary.model_validate(
        {
            "run_id": "fit123",
            "fit_seconds": 12.34,
            "currency": "EUR",
            "outcome": "revenue",
            "diagnostics": {
                "max_rhat": 1.004,
                "min_ess_bulk": 812.0,
                "min_ess_tail": 640.0,
                "divergences": 0,
                "converged": True,
                "problems": [],
                "parameters": [
                    {"label": f"{what}: {name}", "rhat": 1.001 + i / 1000, "ess": 900.0 - 50 * i}
                    for what in ("ROAS", "carry-over")
                    for i, name in enumerate(names)
                ]
                + [
                    {"label": label, "rhat": 1.002, "ess": 1500.0}
                    for label in ("noise", "baseline level", "seasonality term 1", "seasonality term 2")
                ],
            },
            "fit": {"r2": 0.913, "mape": 0.042, "nrmse": 0.061},
            "data": {
                "source": "data.csv",
                "frequency": "weekly",
                "first_date": dates[0],
                "last_date": dates[PERIODS - 1],
                "periods": PERIODS,
                "target_total": float(actual[:PERIODS].sum()),
            },
            "channels": {name: channel(tier, roas, 10_000.0 * (i + 1), rng) for i, (name, (tier, roas)) in enumerate(names.items())},
            "warnings": warnings or [],
            "notes": ["column 'price' used as a control"],
            "holdout": {"r2": 0.8, "mape": 0.071, "nrmse": 0.09, "coverage": 0.875, "periods": HOLDOUT},
            "marketing_share": stat(0.31, 0.24, 0.38),
            "timeline": {
                "dates": dates,
                "fitted_periods": PERIODS,
                "actual": actual.tolist(),
                "predicted": {"mean": predicted.tolist(), "low": (predicted * 0.93).tolist(), "high": (predicted * 1.07).tolist()},
                "baseline": baseline.tolist(),
                "trend": np.zeros(n).tolist(),
                "seasonality": season.tolist(),
                "controls": (1_000 * np.cos(np.arange(n))).tolist() if controls else np.zeros(n).tolist(),
                "media": media,
            },
            "control_names": controls,
            "model_settings": {
                "adstock": "geometric",
                "l_max": L_MAX,
                "saturation": "hill",
                "hill_slope": "fixed",
                "trend": False,
                "seasonality_order": 2,
                "likelihood": "student_t",
            },
        }
    )


def make_optimization(summary: FitSummary, outcomes: bool = True) -> OptimizationResult:
    """An optimisation of 300,000 over 12 weeks made from `summary`, with the distributions of both plans."""
    weeks, budget = 12, 300_000.0
    shares = {"proven": 0.7, "test": 0.2, "experimental": 0.1}
    alloc = {}
    for i, (name, c) in enumerate(summary.channels.items()):
        total = budget * shares[c.tier]
        current = c.spend / PERIODS * weeks * (1.3 if i == 0 else 0.9)
        alloc[name] = {
            "total": total,
            "weekly": total / weeks,
            "tier": c.tier,
            "mroas": c.mroas.mean * 0.9,
            "current_total": current,
            "current_weekly": current / weeks,
            "change": total - current,
            "change_pct": (total - current) / current,
            "min_weekly": 0.0,
            "max_weekly": 2 * total / weeks,
            "bound": "max" if i == 2 else None,
        }
    rng = np.random.default_rng(1)
    rec, now = rng.normal(520_000, 40_000, 4000), rng.normal(480_000, 40_000, 4000)
    edges = np.linspace(min(rec.min(), now.min()), max(rec.max(), now.max()), 51)
    diff = rec - now
    dates = [str(np.datetime64("2024-01-01") + 7 * k) for k in range(weeks)]
    return OptimizationResult.model_validate(
        {
            "run_id": summary.run_id,
            "budget": budget,
            "weeks": weeks,
            "risk": 0.0,
            "allocation": alloc,
            "tiers": shares,
            "tier_totals": {t: budget * s for t, s in shares.items()},
            "forecast": {
                "dates": dates,
                "target": SeriesBand(mean=[1.0] * weeks, low=[0.9] * weeks, high=[1.1] * weeks),
                "incremental": Interval.of(rec),
                "incremental_by_channel": {},
                "spend": budget,
                "spend_by_channel": {n: a["total"] for n, a in alloc.items()},
                "roas": Interval.of(rec / budget),
                "expected": Interval.of(rec + 900_000),
                "current_incremental": Interval.of(now),
                "prob_better_than_current": float(np.mean(rec > now)),
            },
            "uplift": Interval.of(diff),
            "optimality": {},
            "warnings": ["search is at its maximum weekly spend"],
            "outcomes": {
                "recommended": Histogram.of(rec, edges),
                "current": Histogram.of(now, edges),
                "difference": Histogram.of(diff, np.linspace(diff.min(), diff.max(), 51)),
            }
            if outcomes
            else None,
            "tracking_run_id": "opt456",
        }
    )


@pytest.fixture(scope="module")
def results() -> tuple[FitSummary, OptimizationResult]:
    summary = make_summary()
    return summary, make_optimization(summary)


@pytest.fixture(scope="module")
def report(results) -> Report:
    return build_report(*results)


@pytest.fixture(scope="module")
def page(report: Report) -> str:
    return report.html


def section(page: str, key: str) -> str:
    match = re.search(rf'<section id="{key}">(.*?)</section>', page, re.S)
    assert match, f"section {key} missing"
    return match.group(1)


def text_of(fragment: str) -> str:
    """Visible text: tags dropped, entities decoded, whitespace collapsed."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", fragment))).strip()


def images_in(page: str) -> dict[str, bytes]:
    found = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)" alt="[^"]*" data-name="([^"]+)"', page)
    return {name: base64.b64decode(data) for data, name in found}


def test_every_section_and_chart_is_there_and_decodes(report: Report, page: str) -> None:
    from PIL import Image

    for key, title in SECTIONS.items():
        assert text_of(re.search(r"<h2>(.*?)</h2>", section(page, key)).group(1)) == title
    images = images_in(page)
    assert set(images) == ALL_IMAGES and images == report.images
    for name, png in images.items():
        with Image.open(io.BytesIO(png)) as img:
            img.load()
            assert img.format == "PNG" and img.width >= 800 and img.height >= 300, name
    # self-contained: nothing fetched from elsewhere when opened offline; the package's CSS is inlined unescaped
    assert not re.search(r'(src|href)="(https?:)?//', page) and "<link" not in page and "<script" not in page
    css = (REPORT_PACKAGE / "report.css").read_text(encoding="utf-8")
    assert f"<style>{css}</style>" in page and "@media print" in page and "break-before: page" in page


def test_executive_summary_numbers_equal_the_json_outputs(results, page: str) -> None:
    fit, opt = results[0].to_json(), results[1].to_json()
    cur = fit["currency"]
    text = text_of(section(page, "summary"))
    top, c = max(fit["channels"].items(), key=lambda kv: kv[1]["roas"]["mean"])
    r, m = c["roas"], c["mroas"]
    assert f"{top} brings back the most per unit of spend" in text
    assert f"returned {cur} {r['mean']:.2f} in extra revenue (90% range {r['low']:.2f} to {r['high']:.2f})" in text
    assert f"{cur} {m['mean']:.2f} (marginal ROAS, range {m['low']:.2f} to {m['high']:.2f})" in text
    ms = fit["marketing_share"]
    assert (
        f"drove {100 * ms['mean']:.1f}% of the {cur} {fit['data']['target_total']:,.0f} revenue from "
        f"{fit['data']['first_date']} to {fit['data']['last_date']} (90% range {100 * ms['low']:.1f}% to "
        f"{100 * ms['high']:.1f}%)"
    ) in text
    dg = fit["diagnostics"]
    assert f"R-hat {dg['max_rhat']:.3f}, needs 1.01 or less; ESS {dg['min_ess_bulk']:.0f}, needs 400 or more" in text
    assert f"{dg['divergences']} divergences" in text and "Can we trust the model? Good." in text
    assert f"(R² {fit['fit']['r2']:.3f})" in text and f"off by {100 * fit['fit']['mape']:.1f}% in a typical week" in text
    h = fit["holdout"]
    assert f"On the last {h['periods']} weeks" in text and f"in {100 * h['coverage']:.1f}% of them" in text
    # the optimisation, from optimize.json
    up, exp = opt["uplift"], opt["expected"]
    sign = "-" if up["mean"] < 0 else "+"
    assert f"a difference of {sign}{cur} {abs(up['mean']):,.0f} (90% range {up['low']:,.0f} to {up['high']:,.0f})" in text
    assert f"{cur} {exp['recommended']['mean']:,.0f} with the recommended plan" in text
    assert f"{cur} {exp['current']['mean']:,.0f} with the current mix" in text
    assert f"earns more than the current mix is {100 * opt['prob_better']:.1f}%" in text
    assert f"For {cur} {opt['budget']:,.0f} over the next {opt['weeks']} weeks" in text
    assert "split by tier proven 70.0% / test 20.0% / experimental 10.0%" in text
    for ch, a in opt["allocation"].items():
        assert f"{ch} ({'-' if a['change'] < 0 else '+'}{cur} {abs(a['change']):,.0f}, {a['change_pct']:+.0%})" in text
    assert "Note: search is at its maximum weekly spend." in text
    cards = text_of(re.search(r'<div class="cards">(.*?)</div>\s*<div class="summary">', page, re.S).group(1))
    assert f"{sign}{cur} {abs(up['mean']):,.0f} chance it earns more: {100 * opt['prob_better']:.1f}%" in cards


def test_fit_section_marks_the_holdout_with_its_scores(results, page: str) -> None:
    text = text_of(section(page, "fit"))
    h, f = results[0].holdout, results[0].fit
    assert f"The last {h.periods} weeks (shaded yellow) were kept out of the fit" in text
    assert f"off by {100 * h.mape:.1f}%" in text and f"(R² {f.r2:.3f})" in text
    assert "moved up or down by trend + seasonality and by other drivers (price) (lower panel)" in text_of(section(page, "contributions"))


def test_tables_print_the_summary_numbers(results, page: str) -> None:
    fit, opt = results[0].to_json(), results[1].to_json()
    returns = text_of(section(page, "returns"))
    for name, c in fit["channels"].items():
        for key, fmt in (("roas", "{:.2f}"), ("roi", "{:.2f}"), ("mroas", "{:.2f}"), ("contribution", "{:,.0f}")):
            s = c[key]
            assert f"{fmt.format(s['mean'])} {fmt.format(s['low'])} to {fmt.format(s['high'])}" in returns, (name, key)
    carry = text_of(section(page, "carryover"))
    for name, c in fit["channels"].items():
        w = c["carryover"]["periods_to_90"]
        assert f"{name} {100 * c['carryover']['first_period_share']:.1f}% {w['median']} {w['low']} to {w['high']}" in carry
    assert f"at most {L_MAX} weeks" in carry
    budget = text_of(section(page, "budget"))
    for tier, total in opt["tier_totals"].items():
        assert f"{100 * opt['tiers'][tier]:.1f}% of the budget" in budget and f"{total:,.0f}" in budget
    for ch, a in opt["allocation"].items():
        assert f"{ch} {a['current_total']:,.0f} {a['total']:,.0f} {a['weekly']:,.0f}" in budget
    assert "at its maximum" in budget
    appendix = text_of(section(page, "diagnostics"))
    assert "Carry-over: geometric, up to 4 weeks" in appendix and "errors: student-t." in appendix
    assert "model run <code>fit123</code>; optimisation run <code>opt456</code>." in section(page, "diagnostics")


def test_without_an_optimisation_the_budget_section_is_a_note(results) -> None:
    page, images = build_report(results[0], None)
    assert set(images) == ALL_IMAGES - {"budget.png", "plan_outcomes.png"}
    budget = section(page, "budget")
    assert "No budget optimisation has been run on this model yet" in budget and "<img" not in budget
    assert "mmm optimize --run-id fit123 --budget AMOUNT" in text_of(budget)
    assert "Recommended budget." not in text_of(section(page, "summary"))


def test_results_without_series_leave_their_charts_out_with_a_note(results) -> None:
    summary, opt = results
    bare = summary.model_copy(
        update={
            "timeline": None,
            "channels": {n: c.model_copy(update={"response": None, "roas_evidence": None}) for n, c in summary.channels.items()},
        }
    )
    page, images = build_report(bare, opt.model_copy(update={"outcomes": None}))
    assert set(images) == {"returns.png", "carryover.png", "budget.png", "diagnostics.png"}
    for key in ("fit", "contributions", "response", "budget"):
        assert "is left out: these results were stored by an earlier version" in section(page, key), key


def test_the_report_of_stored_json_equals_the_report_of_the_results(results, report: Report) -> None:
    summary, opt = results
    again = build_report(FitSummary.model_validate(summary.to_json()), OptimizationResult.from_json(opt.to_json()))
    created = re.compile(r"created \d{4}-\d\d-\d\d \d\d:\d\d UTC")
    assert created.sub("", again.html) == created.sub("", report.html) and again.images == report.images


def test_an_optimisation_of_another_run_is_refused(results) -> None:
    summary, opt = results
    with pytest.raises(ValueError, match="made from run other"):
        build_report(summary, opt.model_copy(update={"run_id": "other"}))


def test_names_from_the_data_are_printed_as_text() -> None:
    evil = "<script>alert(1)</script>"
    summary = make_summary(
        {evil: ("proven", 2.0), "a&b": ("test", 1.2)}, controls=['<img src=x onerror="y">'], warnings=["<b>bold</b> column"]
    )
    page, _ = build_report(summary, make_optimization(summary))
    assert "<script" not in page and "<img src=x" not in page and "<b>bold" not in page
    assert html.escape(evil) in page and "a&amp;b" in page
    assert f"{evil} brings back the most" in text_of(section(page, "summary"))
    assert "<b>bold</b> column" in text_of(section(page, "diagnostics"))


def test_no_sentence_hard_codes_revenue(monkeypatch: pytest.MonkeyPatch) -> None:
    from mmm.core import outcome

    monkeypatch.setitem(outcome.OUTCOMES, "orders", outcome.Outcome(kind="orders", noun="orders", is_money=False, return_label="OPS"))
    summary = make_summary().model_copy(update={"outcome": "orders"})
    page = build_report(summary, make_optimization(summary)).html
    text = text_of(re.sub(r"<style>.*?</style>", "", page, flags=re.S))
    assert "revenue" not in text.lower() and "What drove orders over time" in text
    assert "returned EUR 2.40 in extra orders" in text and "(marginal OPS, range" in text


def test_summary_sentences_follow_the_evidence() -> None:
    summary = make_summary({"a": ("proven", 3.0), "b": ("test", 1.2), "c": ("proven", 0.5)})
    chans = {"a": stat(3.0, 2.0, 4.0), "b": stat(1.2, 0.5, 2.0), "c": stat(0.5, 0.3, 0.8)}
    summary = FitSummary.model_validate(
        {
            **summary.to_json(),
            "currency": "GBP",
            "fit": {"r2": 0.4, "mape": 0.3, "nrmse": 0.2},
            "diagnostics": {
                "max_rhat": 1.05,
                "min_ess_bulk": 120.0,
                "min_ess_tail": 150.0,
                "divergences": 3,
                "converged": False,
                "problems": ["chains disagree"],
            },
            "channels": {
                n: {**c, "roas": chans[n], "roi": stat(*(x / (c["cost"] / c["spend"]) - 1 for x in chans[n].values()))}
                for n, c in summary.to_json()["channels"].items()
            },
        }
    )
    text = text_of(" ".join(executive_summary(summary)))
    assert "a brings back the most" in text and "GBP 3.00" in text
    assert "a clearly earns back more than its media spend" in text
    assert "For b the range includes 1" in text
    assert "c very likely returns less than it costs" in text
    assert "net ROI, 0 = break-even) is b 0.09 (range -0.55 to 0.82)." in text
    assert "Can we trust the model? Not yet." in text and "chains disagree" in text
    assert "Recommended budget" not in text


def test_the_report_package_needs_neither_the_model_nor_mlflow() -> None:
    for path in REPORT_PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            bad = [n for n in names if any(n == f or n.startswith(f + ".") for f in FORBIDDEN)]
            assert not bad, f"{path.name} imports {bad}"


def test_report_is_logged_with_the_run_and_the_latest_optimisation_read_back(
    results, report: Report, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlflow

    from mmm.tracking import reports

    summary, opt = results
    uri = f"sqlite:///{tmp_path / 'mlruns.db'}"
    client = mlflow.MlflowClient(tracking_uri=uri)
    exp = client.create_experiment("report", artifact_location=(tmp_path / "artifacts").as_uri())
    fit_run = client.create_run(exp, tags={reports.KIND_TAG: "fit"}).info.run_id
    assert reports.latest_optimization(fit_run, uri) is None
    child = client.create_run(exp, tags={reports.KIND_TAG: "optimize", "mlflow.parentRunId": fit_run}).info.run_id
    client.log_dict(child, opt.to_json(), "optimize.json")
    client.set_terminated(child)
    assert reports.latest_optimization(fit_run, uri).to_json() == opt.to_json()

    built = []  # the report of the stored fit and the optimisation read back (building it is tested above)
    monkeypatch.setattr(reports, "load_fit", lambda run_id, tracking_uri=None: (None, summary))
    monkeypatch.setattr(reports, "build_report", lambda s, o: built.append((s, o)) or report)
    assert reports.report_for_run(fit_run, uri) == (report, built[0][1])
    assert built[0][0] is summary and built[0][1].to_json() == opt.to_json()
    paths = reports.log_report(fit_run, report, uri)
    assert set(paths) == {f"report/{n}" for n in ALL_IMAGES | {"report.html"}}
    assert {Path(f.path).name for f in client.list_artifacts(fit_run, "report")} == ALL_IMAGES | {"report.html"}
    path = client.download_artifacts(fit_run, "report/report.html", str(tmp_path / "down"))
    assert Path(path).read_text(encoding="utf-8") == report.html


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium to print the report to PDF")
def test_report_prints_to_pdf_with_a_page_per_section(page: str, tmp_path: Path) -> None:
    source, pdf = tmp_path / "report.html", tmp_path / "report.pdf"
    source.write_text(page, encoding="utf-8")
    cmd = [
        str(CHROMIUM),
        "--headless",
        *CHROMIUM_ARGS,
        f"--user-data-dir={tmp_path / 'profile'}",
        "--no-pdf-header-footer",
        f"--print-to-pdf={pdf}",
        source.as_uri(),
    ]
    subprocess.run(cmd, capture_output=True, timeout=180, check=False)
    shutil.rmtree(tmp_path / "profile", ignore_errors=True)
    assert pdf.is_file(), "chromium wrote no PDF"
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and len(data) > 200_000
    assert len(re.findall(rb"/Type\s*/Page\b(?!s)", data)) >= len(SECTIONS)  # every section starts on a new page
