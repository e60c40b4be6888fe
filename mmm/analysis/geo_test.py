"""Read a finished geo test and measure its lift: a row of the lift-test file (`mmm analyze-test`).

Data: long format, one row per region (geo) and period, with the date, the region, the KPI and
(optionally) the tested channel's spend, covering periods before the test (the pre-period) and
the test itself (and any cool-down periods after it).

Method: difference-in-differences by time-based regression (`mmm.core.did`): the treated regions'
total against the control regions' total. The spend change, when the spend column is given, is
measured the same way on spend; geo_share is the treated regions' share of the KPI over the pre-period.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import Field

from mmm.core.did import did_lift, placebos_fit
from mmm.core.errors import DataError, MMMError
from mmm.core.results import Result
from mmm.data.dataset import format_rows
from mmm.data.lifts import GEO_SEPARATOR, LiftTest
from mmm.data.reading import read_data_file, read_date, read_dates

METHOD = "difference-in-differences (time-based regression of the treated regions' total on the control regions' total and a trend, over up to two years before the test)"
MIN_PRE_PERIODS = 8  # the regression learns a level, a slope on the control regions and a trend: a few points more than that
RECENT_PERIODS = 13  # the treated regions' spend without the test: their level over the last quarter before it


class GeoTestResult(Result):
    """A finished geo test's measured lift (currency over the measured periods) and how it was measured."""

    method: str
    channel: str
    start: str
    end: str
    measured_until: str  # last period counted (the test's end plus its cool-down)
    spend_change: float  # spend added in the treated regions over the test, currency (negative: switched off)
    lift: float
    lift_se: float
    geo_share: float  # treated regions' share of the KPI over the pre-period
    treated: list[str]
    control: list[str]
    pre_periods: int
    measured_periods: int
    pre_fit_r2: float  # how well the control regions track the treated ones before the test (1: perfectly)
    notes: list[str] = Field(default_factory=list)  # what to keep in mind reading the result (a short history, a cool-down cut short)

    def lift_row(self) -> LiftTest:
        """The result as a row of the lift-test file (`--lifts`) of a model by region, as the test ran: the file reads a
        test the data hold, in the regions it names (all of each: geo_share 1)."""
        spend, lift, se = round(self.spend_change, 2), round(self.lift, 2), round(self.lift_se, 2)
        return LiftTest(self.channel, self.start, self.end, spend, lift, se, 1.0, GEO_SEPARATOR.join(self.treated))


def _table(path: Path, date_column: str, geo_column: str, kpi_column: str, spend_column: str | None) -> pd.DataFrame:
    df = read_data_file(path, named_by="the DATA argument: the finished test's data, one row per region and period").frame
    wanted = [c for c in (date_column, geo_column, kpi_column, spend_column) if c]
    missing = [c for c in wanted if c not in df.columns]
    if missing:
        raise DataError(
            f"{path}: missing column(s) {', '.join(repr(c) for c in missing)}; the file has {', '.join(map(str, df.columns))}. "
            "Name the columns with --date-column, --geo-column, --kpi-column and --spend-column"
        )
    dates = read_dates(df[date_column])
    bad = np.flatnonzero(dates.isna().to_numpy()) + 1
    if len(bad):
        raise DataError(f"{path}, column '{date_column}': cannot read dates in {format_rows(bad)}; use ISO dates like 2024-03-04")
    for col in [kpi_column] + ([spend_column] if spend_column else []):
        values = pd.to_numeric(df[col], errors="coerce")
        bad = np.flatnonzero(~np.isfinite(values.to_numpy(dtype=float))) + 1
        if len(bad):
            raise DataError(f"{path}, column '{col}': {format_rows(bad)} must hold a number (missing or text now)")
        df[col] = values
    df[date_column] = dates
    df[geo_column] = df[geo_column].astype(str)
    dup = np.flatnonzero(df.duplicated([date_column, geo_column], keep=False).to_numpy()) + 1
    if len(dup):
        raise DataError(
            f"{path}, columns '{date_column}'/'{geo_column}': {format_rows(dup, verb='repeat')} a region's period; keep one row per region and period"
        )
    return df


def analyze_geo_test(
    path: str | Path,
    channel: str,
    treated: list[str],
    start: str,
    end: str,
    control: list[str] | None = None,
    spend_change: float | None = None,
    date_column: str = "date",
    geo_column: str = "geo",
    kpi_column: str = "revenue",
    spend_column: str | None = None,
    cooldown: int | None = None,
) -> GeoTestResult:
    """Measure a finished geo test: treated regions against control regions (default: every other region).

    start, end: the test's first and last period; cooldown: periods after `end` whose lift counts
    (carry-over; default every period in the file after the test). spend_change (currency, the
    treated regions' spend added over the test) is measured from `spend_column` when not given.
    """
    path = Path(path)
    if spend_change is not None and spend_column is not None:
        raise MMMError(
            "give the test's spend change either as a number (--spend-change) or as a column to measure it from (--spend-column), not both"
        )
    df = _table(path, date_column, geo_column, kpi_column, spend_column)
    geos = sorted(df[geo_column].unique())
    control = control or [g for g in geos if g not in treated]
    unknown = sorted(set(treated + control) - set(geos))
    if unknown:
        raise DataError(f"{path}, column '{geo_column}': no region named {', '.join(unknown)}; the file's regions are {', '.join(geos)}")
    both = sorted(set(treated) & set(control))
    if both:
        raise MMMError(f"region(s) {', '.join(both)} are both treated and control; a region is one or the other")
    if not treated or not control:
        raise MMMError(f"{path}: a geo test needs treated and control regions; name them with --treated and --control")
    wide = df.pivot(index=date_column, columns=geo_column, values=kpi_column).sort_index()
    gaps = [g for g in treated + control if wide[g].isna().any()]
    if gaps:
        g = gaps[0]
        missing = ", ".join(str(d.date()) for d in wide.index[wide[g].isna()][:5])
        raise DataError(f"{path}, column '{geo_column}': region {g} has no row for {missing}; every region needs every period")
    dates = wide.index
    _check_periods(path, dates, date_column)
    t0, t1 = read_date(start, "--start (the test's first period)"), read_date(end, "--end (the test's last period)")
    if t1 < t0:
        raise MMMError(f"the test ends ({end}) before it starts ({start}); check --start and --end")
    if t0 > dates[-1] or t1 > dates[-1]:
        raise DataError(
            f"{path}: the test ({start} to {end}) runs past the data, which end {dates[-1].date()}; the file must cover the whole test"
        )
    for flag, day in (("--start", t0), ("--end", t1)):
        if day not in dates:
            near = dates[dates.get_indexer([day], method="nearest")[0]]
            raise MMMError(
                f"{flag} {day.date()} is not a period of {path} (the nearest is {near.date()}); "
                "give the date the file gives the test's first and last periods"
            )
    pre = dates < t0
    if pre.sum() < MIN_PRE_PERIODS:
        raise DataError(
            f"{path}: {int(pre.sum()) or 'no'} period(s) of data before the test starts ({start}); the method needs at least {MIN_PRE_PERIODS} "
            "periods of every region before the test to learn how they move together"
        )
    notes = []
    after = int((dates > t1).sum())
    if cooldown is not None and cooldown > after:
        notes.append(
            f"the file holds {after} period(s) after the test, fewer than the --cooldown of {cooldown}: the lift counts those {after}"
        )
    last = dates[-1] if cooldown is None else min(dates[-1], dates[dates <= t1][-1] + (dates[1] - dates[0]) * cooldown)
    measured = (dates >= t0) & (dates <= last)
    in_test = (dates >= t0) & (dates <= t1)
    lift, se, r2 = did_lift(wide[treated].sum(axis=1).to_numpy(float), wide[control].sum(axis=1).to_numpy(float), pre, measured)
    if spend_change is None:
        if spend_column is None:
            raise MMMError(
                "give the test's spend change (--spend-change, currency, negative when spend was switched off) or the spend column (--spend-column)"
            )
        spend = df.pivot(index=date_column, columns=geo_column, values=spend_column).sort_index().fillna(0.0)
        spend_change = _spend_change(spend[treated].sum(axis=1).to_numpy(float), spend[control].sum(axis=1).to_numpy(float), pre, in_test)
    if not np.isfinite(spend_change):
        raise MMMError(f"--spend-change must be an amount of currency, not {spend_change}")
    if not placebos_fit(int(pre.sum()), int(measured.sum())):
        notes.append(
            f"only {int(pre.sum())} periods before the test: too few to check the error on placebo windows, so it is the "
            "regression's alone, which past tests show can be half the real one; read the result with care"
        )
    if spend_change == 0:
        raise MMMError(
            f"the treated regions' {channel} spend did not change during the test, so it measures nothing; check --start/--end and the regions"
        )
    share = float(wide[treated].to_numpy()[pre].sum() / wide.to_numpy()[pre].sum())
    return GeoTestResult(
        method=METHOD,
        channel=channel,
        start=str(t0.date()),
        end=str(t1.date()),
        measured_until=str(pd.Timestamp(last).date()),
        spend_change=float(spend_change),
        lift=lift,
        lift_se=se,
        geo_share=min(max(share, 1e-6), 1.0),
        treated=list(treated),
        control=list(control),
        pre_periods=int(pre.sum()),
        measured_periods=int(measured.sum()),
        pre_fit_r2=r2,
        notes=notes,
    )


def _check_periods(path: Path, dates: pd.DatetimeIndex, date_column: str) -> None:
    """Refuse a file whose periods are not evenly spaced (a period missing for every region), naming where."""
    steps = np.diff(dates.values)
    if len(steps) and (steps != steps.min()).any():
        gap = int(np.flatnonzero(steps != steps.min())[0])
        raise DataError(
            f"{path}, column '{date_column}': the periods jump from {dates[gap].date()} to {dates[gap + 1].date()} "
            f"(every other step is {pd.Timedelta(steps.min()).days} days); every region needs every period, so add the missing ones"
        )


def _spend_change(treated: np.ndarray, control: np.ndarray, pre: np.ndarray, in_test: np.ndarray) -> float:
    """Spend added in the treated regions over the test: actual minus their level over the last RECENT_PERIODS
    periods before it, scaled by how the control regions' spend moved from that level."""
    recent = np.flatnonzero(pre)[-RECENT_PERIODS:]
    base = treated[recent].mean()
    control_pre = control[recent].mean()
    trend = control[in_test].mean() / control_pre if control_pre > 0 else 1.0
    return float(treated[in_test].sum() - in_test.sum() * base * trend)
