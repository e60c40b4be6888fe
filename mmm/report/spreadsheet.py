"""A plan as files a spreadsheet opens: CSV (the plan by week) and XLSX (by week, by month, expected outcome, summary).

Written from the typed `WeeklyPlan` (and the plan's `PlanForecast` for the workbook) alone.
The table "Plan by week" is the same in both files: one row per week and channel (the plan's
weeks, then the carry-over weeks after it), then one `total` row per channel and one for all
channels. Column names follow the KPI's words (`incremental_revenue_mean`, ...); amounts are
currency with two decimals, spend in whole cents adding up to the budget exactly. The CSV is
comma-separated UTF-8 with decimal points and one header row; the workbook stores numbers and
dates as such (not text), with number formats and the header row frozen.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from mmm.core.constants import TIERS
from mmm.core.errors import MMMError
from mmm.core.outcome import Outcome, outcome_for
from mmm.planning.results import PlanForecast, RegionPlan
from mmm.planning.weekly_results import PlanLine, WeeklyPlan

ALL = "all"  # the channel of a line that adds up every channel
PLAN, AFTER, TOTAL = "plan", "after plan", "total"  # values of the `phase` column
MONEY_FORMAT = "#,##0.00"
DATE_FORMAT = "yyyy-mm-dd"
SHEETS = ("Plan by week", "By month", "Expected by week", "Summary")
REGION_SHEET = "By region"  # a geo plan's sheet: spend per region and channel over the horizon
REGION_HEADER = [
    "region",
    "channel",
    "spend",
    "weekly spend",
    "share of the channel",
    "current spend",
    "change",
    "marginal",
    "limit reached",
]


def _stats(stem: str) -> list[str]:
    """stem_mean, stem_low, stem_high: a posterior mean and its 90% interval."""
    return [f"{stem}_{s}" for s in ("mean", "low", "high")]


def week_header(outcome: Outcome) -> list[str]:
    """Columns of the plan by week (CSV and the sheet "Plan by week")."""
    return ["date", "week", "phase", "channel", "tier", "spend", *_stats(outcome.incremental)]


def month_header(outcome: Outcome) -> list[str]:
    """Columns of the sheet "By month"."""
    return ["month", "channel", "tier", "spend", *_stats(outcome.incremental)]


def _figures(line: PlanLine) -> list[float]:
    i = line.incremental
    return [line.spend, i.mean, i.low, i.high]


def week_rows(plan: WeeklyPlan) -> list[list[Any]]:
    """One row per week and channel, then the `total` rows: each channel's, then all channels' (None: an empty cell)."""
    rows: list[list[Any]] = [
        [dt.date.fromisoformat(r.date), r.week, AFTER if r.after_plan else PLAN, r.channel, r.tier, *_figures(r)] for r in plan.rows
    ]
    rows += [[None, None, TOTAL, c.channel, c.tier, *_figures(c)] for c in plan.channels]
    rows.append([None, None, TOTAL, ALL, None, *_figures(plan.total)])
    return rows


def month_rows(plan: WeeklyPlan) -> list[list[Any]]:
    """One row per month and channel, each month's `all` channels row first."""
    return [[m.month, m.channel or ALL, m.tier, *_figures(m)] for m in plan.months]


def column_notes(outcome: Outcome, currency: str, period: str = "week") -> list[tuple[str, str]]:
    """(column, what it means) of the tables, in the outcome's words; `period`: what a row is (week, day)."""
    unit = outcome.amount(currency)
    inc = outcome.incremental
    p = period
    return [
        ("date", "The day." if p == "day" else f"The day the {p} starts."),
        ("week", f"1 is the plan's first {p}; the {p}s after its last one (phase 'after plan') have no spend and hold the carry-over."),
        (
            "phase",
            f"'{PLAN}', '{AFTER}', or '{TOTAL}': a channel's whole plan, or all channels' ('{ALL}'); leave totals out when adding rows.",
        ),
        ("month", f"The {p}s that start in that month; channel '{ALL}' is the month's total."),
        ("channel", f"The channel; '{ALL}' on a line that adds up every channel."),
        ("tier", "The channel's tier under the budget policy (proven, test, experimental)."),
        ("spend", f"Planned spend, {currency}, in whole cents: the rows add up to the budget exactly."),
        (
            f"{inc}_mean",
            f"Extra {outcome.noun} the plan's spend on the channel brings in that {p} ({unit}): its contribution with the plan minus "
            f"without it. With carry-over, part of a {p}'s figure comes from earlier {p}s' spend; the {p}s after the plan hold the rest.",
        ),
        (f"{inc}_low / _high", "The 90% interval: 5% and 95% quantiles. A total's interval is not the sum of its rows' intervals."),
        (f"{outcome.expected}_mean / _low / _high", f"The whole {outcome.noun} expected that {p} ({unit}), mean and 90% interval."),
    ]


def _write_atomically(path: str | Path, write: Callable[[Path], None]) -> None:
    """Write through a temporary file, so a reader never sees half a file; an unwritable path is an MMMError."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write(tmp)
        tmp.replace(path)
    except OSError as exc:
        raise MMMError(f"{path}: cannot write the plan: {exc.strerror or exc}") from None


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def write_plan_csv(path: str | Path, plan: WeeklyPlan) -> None:
    """The plan by week as CSV: comma-separated, UTF-8, one header row, amounts with two decimals."""
    outcome = outcome_for(plan.outcome)

    def write(target: Path) -> None:
        with target.open("w", encoding="utf-8", newline="") as f:
            out = csv.writer(f)
            out.writerow(week_header(outcome))
            out.writerows([_csv_cell(v) for v in row] for row in week_rows(plan))

    _write_atomically(path, write)


def _sheet(book: Any, title: str, header: Sequence[str], rows: list[list[Any]]) -> None:
    """A sheet with a bold, frozen header row, money columns formatted, dates as dates."""
    from openpyxl.styles import Font

    sheet = book.create_sheet(title)
    sheet.append(list(header))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    money = {i for i, name in enumerate(header) if name == "spend" or name.endswith(("_mean", "_low", "_high"))}
    for row in rows:
        sheet.append(row)
        for i, cell in enumerate(sheet[sheet.max_row]):
            if i in money:
                cell.number_format = MONEY_FORMAT
            elif isinstance(cell.value, dt.date):
                cell.number_format = DATE_FORMAT
    for i, name in enumerate(header):
        sheet.column_dimensions[sheet.cell(1, i + 1).column_letter].width = max(12, len(name) + 2)


def _tier_totals(plan: WeeklyPlan) -> list[tuple[str, float]]:
    """(tier, its spend in whole cents) in the standard tier order."""
    tiers: list[str] = [t for t in TIERS if any(c.tier == t for c in plan.channels)]
    tiers += sorted({c.tier for c in plan.channels} - set(tiers))
    return [(t, round(sum(c.spend for c in plan.channels if c.tier == t), 2)) for t in tiers]


def _summary(book: Any, plan: WeeklyPlan, forecast: PlanForecast, currency: str, title: str) -> None:
    """The sheet "Summary": the plan, its budget and what it brings, tiers, channel totals, and what the columns mean."""
    from openpyxl.styles import Font

    sheet = book.create_sheet(SHEETS[3])

    def add(row: list[Any], number_format: str = MONEY_FORMAT, bold: bool = False) -> None:
        sheet.append(row)
        for cell in sheet[sheet.max_row]:
            cell.font = Font(bold=bold)
            if isinstance(cell.value, dt.date):
                cell.number_format = DATE_FORMAT
            elif isinstance(cell.value, float):
                cell.number_format = number_format

    o = outcome_for(plan.outcome)
    add(["plan", title])
    add(["currency", currency])
    add(["budget", plan.budget])
    add(["weeks", plan.weeks])
    if plan.rows:
        add(["first week", dt.date.fromisoformat(plan.rows[0].date)])
    add(["carry-over weeks after the plan", len({r.week for r in plan.rows if r.after_plan})])
    add(["", "mean", "low", "high"], bold=True)
    add([f"{o.incremental} (the plan's whole effect)", *_figures(plan.total)[1:]])
    add([f"{o.expected} over the plan's weeks", forecast.expected.mean, forecast.expected.low, forecast.expected.high])
    if forecast.roas is not None:
        add([o.return_label, forecast.roas.mean, forecast.roas.low, forecast.roas.high])
    if forecast.prob_better_than_current is not None:
        add(["probability it beats the current mix at the same budget", forecast.prob_better_than_current], "0.0%")
    add([])
    add(["tier", "spend", "share of the budget"], bold=True)
    for tier, spend in _tier_totals(plan):
        add([tier, spend, spend / plan.budget if plan.budget else None])
        sheet.cell(sheet.max_row, 3).number_format = "0.0%"
    add([])
    add(["channel", "tier", "spend", *_stats(o.incremental)], bold=True)
    for c in plan.channels:
        add([c.channel, c.tier, *_figures(c)])
    add([ALL, None, *_figures(plan.total)])
    add([])
    add(["column", "meaning"], bold=True)
    for name, meaning in column_notes(o, currency, plan.period):
        add([name, meaning])
    sheet.column_dimensions["A"].width = 48


def region_rows(geos: dict[str, RegionPlan]) -> list[list[Any]]:
    """One row per region and channel (REGION_HEADER): spend over the horizon and per week, against the current mix."""
    return [
        [geo, ch, a.total, a.weekly, a.share, a.current_total, a.change, a.mroas, a.bound or ""]
        for geo, region in geos.items()
        for ch, a in region.channels.items()
    ]


def write_plan_xlsx(
    path: str | Path, plan: WeeklyPlan, forecast: PlanForecast, currency: str, title: str, geos: dict[str, RegionPlan] | None = None
) -> None:
    """The plan as a workbook: sheets "Plan by week" (as the CSV), "By month", "Expected by week" and "Summary",
    and "By region" for a geo plan (`geos`: its spend per region and channel).

    forecast: the same plan's forecast (the expected outcome per week, ROAS, comparison with the
    current mix); title: what the plan is, for the summary ("recommended plan", the scenario's name).
    """
    from openpyxl import Workbook

    o = outcome_for(plan.outcome)
    book = Workbook()
    book.remove(book.active)
    _sheet(book, SHEETS[0], week_header(o), week_rows(plan))
    _sheet(book, SHEETS[1], month_header(o), month_rows(plan))
    band = forecast.target
    expected = [[dt.date.fromisoformat(d), k + 1, band.mean[k], band.low[k], band.high[k]] for k, d in enumerate(forecast.dates)]
    _sheet(book, SHEETS[2], ["date", "week", *_stats(o.expected)], expected)
    _summary(book, plan, forecast, currency, title)
    if geos:
        _sheet(book, REGION_SHEET, REGION_HEADER, region_rows(geos))
        for row in book[REGION_SHEET].iter_rows(min_row=2):
            for cell in row[2:4] + row[5:7]:
                cell.number_format = MONEY_FORMAT
            row[4].number_format = "0.0%"
    _write_atomically(path, book.save)
