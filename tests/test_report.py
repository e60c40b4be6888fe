"""The HTML report: sections, charts, numbers equal to the JSON outputs, MLflow logging, printing.

One small real fit (simulated clean scenario, short chains, 8 holdout weeks) is shared by all
tests: `mmm simulate`, `mmm fit`, `mmm optimize` and `mmm report` through the CLI, on a
temporary MLflow store.
"""

from __future__ import annotations

import base64
import html
import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from mmm.cli import main
from mmm.report import SECTIONS, build_report, executive_summary, plan_draws

CHROMIUM = Path("/usr/bin/chromium")
ALL_IMAGES = {"fit.png", "contributions.png", "returns.png", "response_curves.png", "carryover.png", "budget.png",
              "plan_outcomes.png", "diagnostics.png", "roas_priors.png"}


def run_cli(args: list[str]) -> str:
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> dict:
    tmp = tmp_path_factory.mktemp("report")
    uri = f"sqlite:///{tmp / 'mlruns.db'}"
    run_cli(["simulate", "--scenario", "clean", "--out", str(tmp / "sim")])
    run_cli(["fit", str(tmp / "sim" / "config.yaml"), "--draws", "200", "--tune", "200", "--chains", "2", "--holdout", "8",
             "--tracking-uri", uri, "--output-json", str(tmp / "fit.json")])
    fit = json.loads((tmp / "fit.json").read_text())
    run_cli(["optimize", "--run-id", fit["run_id"], "--budget", "300000", "--tracking-uri", uri,
             "--output-json", str(tmp / "optimize.json")])
    out = run_cli(["report", "--run-id", fit["run_id"], "--out", str(tmp / "out" / "report.html"), "--tracking-uri", uri])
    assert "report/report.html" in out
    return {
        "tmp": tmp, "uri": uri, "fit": fit, "opt": json.loads((tmp / "optimize.json").read_text()),
        "html_path": tmp / "out" / "report.html", "html": (tmp / "out" / "report.html").read_text(encoding="utf-8"),
    }


@pytest.fixture(scope="module")
def model_and_summary(pipeline: dict):
    from mmm.tracking import load_fit

    return load_fit(pipeline["fit"]["run_id"], pipeline["uri"])


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


def test_every_section_and_chart_is_there_and_decodes(pipeline: dict) -> None:
    from PIL import Image

    page = pipeline["html"]
    for key, title in SECTIONS.items():
        assert f"<h2>{html.escape(title)}</h2>" in section(page, key)
    images = images_in(page)
    assert set(images) == ALL_IMAGES
    for name, png in images.items():
        with Image.open(io.BytesIO(png)) as img:
            img.load()
            assert img.format == "PNG" and img.width >= 800 and img.height >= 300, name
    # self-contained: nothing fetched from elsewhere when opened offline
    assert not re.search(r'(src|href)="(https?:)?//', page)
    assert "@media print" in page and "break-before: page" in page


def test_executive_summary_numbers_equal_the_json_outputs(pipeline: dict) -> None:
    fit, opt = pipeline["fit"], pipeline["opt"]
    cur = fit["currency"]
    text = text_of(section(pipeline["html"], "summary"))
    top, c = max(fit["channels"].items(), key=lambda kv: kv[1]["roas"]["mean"])
    r = c["roas"]
    assert f"{top} brings back the most per unit of spend" in text
    assert f"returned {cur} {r['mean']:.2f} in extra revenue (90% range {r['low']:.2f} to {r['high']:.2f})" in text
    m = c["mroas"]
    assert f"{cur} {m['mean']:.2f} (marginal ROAS, range {m['low']:.2f} to {m['high']:.2f})" in text
    ms = fit["marketing_share"]
    assert (f"drove {100 * ms['mean']:.1f}% of the {cur} {fit['data']['target_total']:,.0f} revenue from "
            f"{fit['data']['first_date']} to {fit['data']['last_date']} (90% range {100 * ms['low']:.1f}% to "
            f"{100 * ms['high']:.1f}%)") in text
    dg = fit["diagnostics"]
    assert f"R-hat {dg['max_rhat']:.3f}" in text and f"ESS {dg['min_ess_bulk']:.0f}" in text
    assert f"{dg['divergences']} divergences" in text
    assert ("Can we trust the model? Good." in text) == dg["converged"]
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
    biggest = max(opt["allocation"], key=lambda ch: abs(opt["allocation"][ch]["change"]))
    change = opt["allocation"][biggest]["change"]
    assert f"{biggest} ({'-' if change < 0 else '+'}{cur} {abs(change):,.0f}, {opt['allocation'][biggest]['change_pct']:+.0%})" in text


def test_fit_section_marks_the_holdout_with_its_scores(pipeline: dict) -> None:
    text = text_of(section(pipeline["html"], "fit"))
    h = pipeline["fit"]["holdout"]
    assert f"The last {h['periods']} weeks (shaded yellow) were kept out of the fit" in text
    assert f"off by {100 * h['mape']:.1f}%" in text


def test_tables_print_the_summary_numbers(pipeline: dict) -> None:
    fit, opt = pipeline["fit"], pipeline["opt"]
    returns = text_of(section(pipeline["html"], "returns"))
    for name, c in fit["channels"].items():
        for key, fmt in (("roas", "{:.2f}"), ("roi", "{:.2f}"), ("mroas", "{:.2f}"), ("contribution", "{:,.0f}")):
            s = c[key]
            assert f"{fmt.format(s['mean'])} {fmt.format(s['low'])} to {fmt.format(s['high'])}" in returns, (name, key)
    budget = text_of(section(pipeline["html"], "budget"))
    for tier, total in opt["tier_totals"].items():
        assert f"{100 * opt['tiers'][tier]:.1f}% of the budget" in budget and f"{total:,.0f}" in budget
    for ch, a in opt["allocation"].items():
        assert f"{ch} {a['current_total']:,.0f} {a['total']:,.0f} {a['weekly']:,.0f}" in budget


def test_plan_distributions_are_the_optimisers_draws(pipeline: dict, model_and_summary) -> None:
    model, _ = model_and_summary
    rec, now = plan_draws(model, pipeline["opt"])
    exp = pipeline["opt"]["expected"]
    assert rec.mean() == pytest.approx(exp["recommended"]["mean"], rel=1e-6)
    assert now.mean() == pytest.approx(exp["current"]["mean"], rel=1e-6)
    assert np.mean(rec > now) == pytest.approx(pipeline["opt"]["prob_better"], abs=1e-9)


def test_report_is_logged_to_the_fit_run(pipeline: dict) -> None:
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=pipeline["uri"])
    run_id = pipeline["fit"]["run_id"]
    logged = {Path(f.path).name for f in client.list_artifacts(run_id, "report")}
    assert logged == ALL_IMAGES | {"report.html"}
    dest = pipeline["tmp"] / "downloaded"
    dest.mkdir()
    path = client.download_artifacts(run_id, "report/report.html", str(dest))
    assert Path(path).read_text(encoding="utf-8") == pipeline["html"]
    png = Path(client.download_artifacts(run_id, "report/returns.png", str(dest))).read_bytes()
    assert png == images_in(pipeline["html"])["returns.png"]


def test_without_an_optimisation_the_budget_section_is_a_note(model_and_summary) -> None:
    model, summary = model_and_summary
    page, images = build_report(model, summary, None)
    assert "budget.png" not in images and "plan_outcomes.png" not in images
    assert set(images) == ALL_IMAGES - {"budget.png", "plan_outcomes.png"}
    budget = section(page, "budget")
    assert "No budget optimisation has been run on this model yet" in budget and "<img" not in budget
    assert "Recommended budget." not in text_of(section(page, "summary"))


def test_summary_sentences_follow_the_evidence() -> None:
    def stat(mean: float, low: float, high: float) -> dict:
        return {"mean": mean, "low": low, "high": high}

    def channel(roas: tuple, cost_factor: float = 1.0) -> dict:
        return {"tier": "proven", "spend": 1000.0, "cost": 1000.0 * cost_factor, "roas": stat(*roas),
                "roi": stat(*(x / cost_factor - 1 for x in roas)), "mroas": stat(*(x / 2 for x in roas)),
                "contribution": stat(*(1000 * x for x in roas)), "contribution_share": stat(0.1, 0.05, 0.2)}

    summary = {
        "currency": "GBP", "run_id": "x",
        "diagnostics": {"max_rhat": 1.05, "min_ess_bulk": 120.0, "min_ess_tail": 150.0, "divergences": 3, "converged": False,
                        "problems": ["chains disagree"]},
        "fit": {"r2": 0.4, "mape": 0.3, "nrmse": 0.2},
        "data": {"frequency": "weekly", "first_date": "2024-01-01", "last_date": "2024-12-30", "periods": 53, "target_total": 1e6},
        "marketing_share": stat(0.3, 0.2, 0.4),
        "channels": {"a": channel((3.0, 2.0, 4.0)), "b": channel((1.2, 0.5, 2.0), 1.2), "c": channel((0.5, 0.3, 0.8))},
    }
    text = text_of(" ".join(executive_summary(summary)))
    assert "a brings back the most" in text and "GBP 3.00" in text
    assert "a clearly earns back more than its media spend" in text
    assert "For b the range includes 1" in text
    assert "c very likely returns less than it costs" in text
    assert "net ROI, 0 = break-even) is b 0.00 (range -0.58 to 0.67)" in text
    assert "Can we trust the model? Not yet." in text and "chains disagree" in text
    assert "Recommended budget" not in text


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium to print the report to PDF")
def test_report_prints_to_pdf_with_a_page_per_section(pipeline: dict, tmp_path: Path) -> None:
    pdf = tmp_path / "report.pdf"
    cmd = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={tmp_path / 'profile'}", "--no-pdf-header-footer", f"--print-to-pdf={pdf}",
           pipeline["html_path"].resolve().as_uri()]
    subprocess.run(cmd, capture_output=True, timeout=180, check=False)
    shutil.rmtree(tmp_path / "profile", ignore_errors=True)
    assert pdf.is_file(), "chromium wrote no PDF"
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and len(data) > 200_000
    pages = len(re.findall(rb"/Type\s*/Page\b(?!s)", data))
    assert pages >= len(SECTIONS)  # every section starts on a new page
