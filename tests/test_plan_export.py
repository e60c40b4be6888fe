"""A plan the spreadsheet opens: the plan per week and channel, by month and in total, as CSV and XLSX.

No fit: the optimiser and the forecast run on a synthetic fitted model (tests/test_optimizer.py),
the writers and the report on the typed results. The CLI options are checked in
tests/test_cli_plans.py on its one small fit.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from collections import defaultdict
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
import xarray as xr
from test_optimizer import config_tiers, synthetic_model, wide_bounds
from test_report import make_optimization, make_summary

from mmm.core.constants import CHANNEL, DATE, SAMPLE
from mmm.core.errors import MMMError
from mmm.planning.forecast import PlanDraws, forecast_plan
from mmm.planning.optimizer import optimize_budget
from mmm.planning.results import OptimizationResult
from mmm.planning.weekly import spend_in_cents, weekly_plan
from mmm.report.build import build_report
from mmm.report.spreadsheet import SHEETS, week_header, write_plan_csv, write_plan_xlsx

WEEKS, L_MAX = 13, 4  # 3 carry-over weeks after the plan
BUDGET = 100_000.07  # odd cents: the split must not lose or add one
SHARES = {"proven": 0.7, "test": 0.2, "experimental": 0.1}
STATS = ["incremental_revenue_mean", "incremental_revenue_low", "incremental_revenue_high"]


def cents(x: float) -> int:
    return round(x * 100)


@pytest.fixture(scope="module")
def model():
    return synthetic_model([2.5, 1.6, 0.9], tiers=list(SHARES), jitter=0.2, n_draws=40, l_max=L_MAX)


@pytest.fixture(scope="module")
def optimized(model) -> OptimizationResult:
    return optimize_budget(model, BUDGET, WEEKS, SHARES, config_tiers(model), wide_bounds(model, 20_000))


@pytest.fixture(scope="module")
def files(optimized, tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("plan_export")
    plan = optimized.weekly_plan
    write_plan_csv(folder / "plan.csv", plan)
    write_plan_xlsx(folder / "out" / "plan.xlsx", plan, optimized.forecast, "EUR", "recommended plan")
    return folder / "plan.csv", folder / "out" / "plan.xlsx"


# --- the typed plan -----------------------------------------------------------------------------------


def test_spend_is_whole_cents_adding_up_to_the_budget(optimized) -> None:
    plan = optimized.weekly_plan
    assert plan.weeks == WEEKS and plan.budget == pytest.approx(BUDGET, abs=1e-9)
    assert len(plan.rows) == (WEEKS + L_MAX - 1) * 3
    assert all(r.spend * 100 == pytest.approx(cents(r.spend), abs=1e-6) for r in plan.rows)
    assert sum(cents(r.spend) for r in plan.rows) == cents(BUDGET)
    assert all(r.spend == 0 for r in plan.rows if r.after_plan) and sum(r.after_plan for r in plan.rows) == (L_MAX - 1) * 3
    for line in plan.channels:  # each channel's weeks add up to its allocation, itself whole cents
        weeks = [r for r in plan.rows if r.channel == line.channel]
        assert sum(cents(r.spend) for r in weeks) == cents(line.spend) == cents(optimized.allocation[line.channel].total)
        assert {r.tier for r in weeks} == {optimized.allocation[line.channel].tier}
        spread = [r.spend for r in weeks if not r.after_plan]
        assert max(spread) - min(spread) <= 0.011  # the same plan every week, to the cent
    assert sum(cents(line.spend) for line in plan.channels) == cents(plan.total.spend) == cents(BUDGET)


def test_the_weeks_add_up_to_the_forecast(optimized) -> None:
    """Every row's incremental outcome, carry-over weeks included, adds up to the plan's (means are additive)."""
    plan, forecast = optimized.weekly_plan, optimized.forecast
    assert sum(r.incremental.mean for r in plan.rows) == pytest.approx(forecast.incremental.mean, rel=1e-9)
    assert plan.total.incremental.mean == pytest.approx(forecast.incremental.mean, rel=1e-9)
    for line in plan.channels:
        assert line.incremental.model_dump() == pytest.approx(forecast.incremental_by_channel[line.channel].model_dump())
    assert all(r.incremental.low <= r.incremental.mean <= r.incremental.high for r in plan.rows)
    assert [r.date for r in plan.rows[::3]][:WEEKS] == forecast.dates


def test_months_add_up_to_the_weeks(optimized) -> None:
    plan = optimized.weekly_plan
    spend, mean = defaultdict(int), defaultdict(float)
    for r in plan.rows:
        spend[r.date[:7], r.channel] += cents(r.spend)
        mean[r.date[:7], r.channel] += r.incremental.mean
    lines = {(m.month, m.channel): m for m in plan.months}
    assert {k for k in lines if k[1] is not None} == set(spend)
    for key, total in spend.items():
        assert cents(lines[key].spend) == total and lines[key].incremental.mean == pytest.approx(mean[key])
    for month in {k[0] for k in spend}:
        assert cents(lines[month, None].spend) == sum(v for k, v in spend.items() if k[0] == month)
    assert sum(cents(m.spend) for m in plan.months if m.channel is None) == cents(BUDGET)
    assert plan.months[0].channel is None  # each month's total first


def test_the_plan_travels_in_the_json_and_reads_back(optimized) -> None:
    raw = json.loads(json.dumps(optimized.to_json()))
    assert raw["weekly_plan"]["budget"] == pytest.approx(BUDGET) and len(raw["weekly_plan"]["rows"]) == len(optimized.weekly_plan.rows)
    back = OptimizationResult.from_json(raw)
    assert back.weekly_plan == optimized.weekly_plan
    assert "weekly_plan" not in optimized.model_copy(update={"weekly_plan": None}).to_json()  # the JSON only grows


def test_rounding_keeps_every_total_and_stays_within_cents() -> None:
    rng = np.random.default_rng(3)
    spend = rng.uniform(0, 5000, (9, 4)) / 3
    spend[:, 2] = 0.0  # a channel without spend stays at zero
    rounded = spend_in_cents(spend)
    assert np.all(np.abs(rounded - spend) < 0.02) and np.all(rounded[:, 2] == 0)
    assert sum(cents(x) for x in rounded.ravel()) == cents(round(spend.sum(), 2))
    assert np.allclose(rounded * 100, np.round(rounded * 100))
    assert np.all(spend_in_cents(np.zeros((3, 2))) == 0)


# --- the files -----------------------------------------------------------------------------------------


def test_xlsx_opens_with_openpyxl_and_sums_to_the_budget(files, optimized) -> None:
    book = openpyxl.load_workbook(files[1])
    assert book.sheetnames == list(SHEETS)
    sheet = book["Plan by week"]
    assert sheet.freeze_panes == "A2"
    rows = list(sheet.iter_rows(values_only=True))
    header, body = list(rows[0]), rows[1:]
    assert header == ["date", "week", "phase", "channel", "tier", "spend", *STATS]
    col = {name: i for i, name in enumerate(header)}
    weeks = [r for r in body if r[col["phase"]] != "total"]
    assert len(weeks) == len(optimized.weekly_plan.rows)
    for r in weeks:
        assert isinstance(r[col["date"]], dt.datetime) and isinstance(r[col["week"]], int)
        assert all(isinstance(r[col[c]], (int, float)) for c in ["spend", *STATS])
    assert sum(cents(r[col["spend"]]) for r in weeks) == cents(BUDGET)
    totals = {r[col["channel"]]: r for r in body if r[col["phase"]] == "total"}
    assert set(totals) == {*optimized.allocation, "all"} and cents(totals["all"][col["spend"]]) == cents(BUDGET)
    for ch, a in optimized.allocation.items():
        assert cents(totals[ch][col["spend"]]) == cents(a.total) == sum(cents(r[col["spend"]]) for r in weeks if r[col["channel"]] == ch)
    assert sheet.cell(2, col["spend"] + 1).number_format == "#,##0.00"
    assert sheet.cell(2, col["date"] + 1).number_format == "yyyy-mm-dd"


def test_xlsx_by_month_expected_and_summary(files, optimized) -> None:
    book = openpyxl.load_workbook(files[1])
    months = list(book["By month"].iter_rows(values_only=True))
    assert list(months[0]) == ["month", "channel", "tier", "spend", *STATS]
    by_channel = [r for r in months[1:] if r[1] != "all"]
    assert sum(cents(r[3]) for r in by_channel) == sum(cents(r[3]) for r in months[1:] if r[1] == "all") == cents(BUDGET)
    assert all(re.fullmatch(r"\d{4}-\d{2}", r[0]) and isinstance(r[4], float) for r in months[1:])
    expected = list(book["Expected by week"].iter_rows(values_only=True))
    assert list(expected[0]) == ["date", "week", "expected_revenue_mean", "expected_revenue_low", "expected_revenue_high"]
    assert [r[2] for r in expected[1:]] == pytest.approx(optimized.forecast.target.mean)
    summary = {r[0]: r[1:] for r in book["Summary"].iter_rows(values_only=True) if r and r[0]}
    assert summary["budget"][0] == pytest.approx(BUDGET) and summary["currency"][0] == "EUR" and summary["weeks"][0] == WEEKS
    assert summary["plan"][0] == "recommended plan"
    for tier, share in SHARES.items():
        assert cents(summary[tier][0]) == cents(optimized.tier_totals[tier]) and summary[tier][1] == pytest.approx(share, abs=1e-6)
    assert "incremental_revenue_mean" in summary and "spend" in summary  # what the columns mean


def test_a_plan_of_days_is_explained_in_days(optimized, tmp_path) -> None:
    """Daily data: the sheets keep their column names (a contract), and say what a row is in days."""
    assert optimized.weekly_plan.period == "week"
    days = optimized.weekly_plan.model_copy(update={"period": "day"})
    write_plan_xlsx(tmp_path / "days.xlsx", days, optimized.forecast, "EUR", "recommended plan")
    summary = {r[0]: r[1] for r in openpyxl.load_workbook(tmp_path / "days.xlsx")["Summary"].iter_rows(values_only=True) if r and r[0]}
    assert "the plan's first day" in summary["week"] and "brings in that day" in summary["incremental_revenue_mean"]
    assert not any(
        "week" in str(meaning) for name, meaning in summary.items() if name in ("date", "week", "month", "incremental_revenue_mean")
    )


def test_csv_is_the_plan_by_week(files, optimized) -> None:
    text = files[0].read_text(encoding="utf-8")
    rows = list(csv.reader(text.splitlines()))
    assert rows[0] == week_header_of(optimized)
    body = [dict(zip(rows[0], r)) for r in rows[1:]]
    weeks = [r for r in body if r["phase"] != "total"]
    assert {r["phase"] for r in weeks} == {"plan", "after plan"}
    assert all(re.fullmatch(r"-?\d+\.\d\d", r[c]) for r in body for c in ["spend", *STATS])  # decimal points, no separators
    assert sum(cents(float(r["spend"])) for r in weeks) == cents(BUDGET)
    totals = {r["channel"]: r for r in body if r["phase"] == "total"}
    assert body[-1]["channel"] == "all" and cents(float(totals["all"]["spend"])) == cents(BUDGET)
    for ch, a in optimized.allocation.items():
        assert cents(float(totals[ch]["spend"])) == cents(a.total)
        assert totals[ch]["date"] == "" and totals[ch]["tier"] == a.tier


def week_header_of(optimized: OptimizationResult) -> list[str]:
    from mmm.core.outcome import outcome_for

    return week_header(outcome_for(optimized.weekly_plan.outcome))


def test_a_scenario_plan_exports_too(model, tmp_path) -> None:
    """An uneven plan with fractions of cents: rounded to cents that add up to its total rounded to the cent."""
    spend = np.tile([1000 / 3, 250.004, 0.0], (6, 1))
    spend[::2, 1] = 0.0
    forecast, draws = forecast_plan(model, spend)
    plan = weekly_plan(spend, draws, config_tiers(model), forecast.outcome)
    total = round(spend.sum(), 2)
    assert plan.budget == pytest.approx(total) and sum(cents(r.spend) for r in plan.rows) == cents(total)
    assert all(r.spend == 0 for r in plan.rows if r.channel == "ch2")
    write_plan_csv(tmp_path / "s.csv", plan)
    write_plan_xlsx(tmp_path / "s.xlsx", plan, forecast, "USD", "flighted")
    sheet = openpyxl.load_workbook(tmp_path / "s.xlsx")["Plan by week"]
    spent = [r[5] for r in sheet.iter_rows(min_row=2, values_only=True) if r[2] != "total"]
    assert sum(cents(x) for x in spent) == cents(total)
    with (tmp_path / "s.csv").open(encoding="utf-8", newline="") as f:
        assert sum(cents(float(r["spend"])) for r in csv.DictReader(f) if r["phase"] != "total") == cents(total)


def test_an_unwritable_path_is_a_clear_error(optimized, tmp_path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(MMMError, match="cannot write the plan"):
        write_plan_csv(tmp_path / "file" / "plan.csv", optimized.weekly_plan)


# --- the report ----------------------------------------------------------------------------------------


def test_the_report_adds_the_plan_by_month() -> None:
    summary = make_summary()
    channels = list(summary.channels)
    dates = pd.date_range("2024-01-22", periods=12 + 3, freq="7D")  # from January into April
    rng = np.random.default_rng(2)
    by_week = xr.DataArray(
        rng.gamma(4.0, 500.0, (200, len(dates), len(channels))),
        dims=(SAMPLE, DATE, CHANNEL),
        coords={DATE: dates.values, CHANNEL: channels},
    )
    spend = np.tile([17_500.0, 5_000.0, 2_500.0], (12, 1))
    plan = weekly_plan(
        spend, PlanDraws(by_week.sum([DATE, CHANNEL]).values, None, by_week), {c: r.tier for c, r in summary.channels.items()}
    )
    optimization = make_optimization(summary).model_copy(update={"weekly_plan": plan})
    budget = build_report(summary, optimization).html.split('<section id="budget">')[1].split("</section>")[0]
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", budget))
    assert "The plan by month" in text
    for line in plan.months:
        assert line.month in text
    january = next(m for m in plan.months if m.month == "2024-01" and m.channel is None)
    assert f"2024-01 {january.spend:,.0f} {january.incremental.mean:,.0f}" in text
    assert f"whole plan {plan.total.spend:,.0f}" in text
