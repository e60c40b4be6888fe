"""Data by region in long format: one row per date and geo, read into `ModelData` with a geo dimension.

`data.geo_column` names each row's region and `data.population_column` (optional) its population, the
same figure on all of a geo's rows. A channel bought nationally (`channels[].national: true`) holds the
national total of each date in its column, on every geo's row or on one of them with the others blank;
it is split to the geos by population share (equally without a population column), and a note says so.

Every problem names the file, the column, the geo and the rows (row 1 is the first line under the
header) and says what to do: duplicate (date, geo) rows, a gap inside a geo's dates, a geo lacking
dates the others have, a geo whose target is 0 throughout, a missing or non-positive population are
errors (exit status 2); a geo with few periods of sales is a warning.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

import numpy as np
import pandas as pd

from mmm.config import Config
from mmm.core.errors import DataError
from mmm.data.conversions import count_problem, value_column, value_problem
from mmm.data.dataset import MIN_PERIODS, PERIOD_DAYS, WARN_PERIODS, ModelData, format_rows
from mmm.data.loading import NEGATIVE_SPEND, ROW_BLANKS, SPEND_BLANKS, _Checker, _encode_controls, count_parameters, require_columns
from mmm.data.quality import MIN_PERIODS_PER_PARAMETER, spend_warnings
from mmm.data.reading import read_dates

NATIONAL_TOLERANCE = 0.005  # half a cent: a national figure written on several rows of a date must agree within it
_SHOWN_GEOS = 8  # geos named in a note before 'and N more'


def _names(values: Sequence[str], limit: int = _SHOWN_GEOS) -> str:
    shown = ", ".join(values[:limit])
    return shown + (f" and {len(values) - limit} more" if len(values) > limit else "")


def _rows(mask: np.ndarray) -> str:
    """'rows 3, 7' from a boolean mask over the file's rows."""
    return format_rows(np.flatnonzero(mask) + 1)


class _GeoTable:
    """One long-format table under check: its rows' geos and dates, read once, and where to find each geo."""

    def __init__(self, cfg: Config, df: pd.DataFrame, path: Path):
        self.cfg, self.df, self.path = cfg, df, path
        self.chk = _Checker(df, path)
        self.geo_col = str(cfg.data.geo_column)
        self.date_col = cfg.data.date_column
        self.chk.no_missing(self.geo_col)
        self.geo = df[self.geo_col].astype(str).str.strip().to_numpy()
        self.geos = sorted(set(self.geo))
        self.chk.no_missing(self.date_col)
        parsed = read_dates(df[self.date_col])
        bad = parsed.isna().to_numpy()
        if bad.any():
            examples = ", ".join(repr(str(v)) for v in df[self.date_col][bad].iloc[:3])
            self.chk.fail(self.date_col, f"cannot read dates in {_rows(bad)} ({examples}); use ISO dates like 2024-01-29")
        self.dates = pd.DatetimeIndex(parsed)

    def fail(self, column: str | None, geo: str | None, msg: str) -> NoReturn:
        self.chk.fail(column, (f"geo '{geo}': " if geo else "") + msg)

    def in_geo(self, geo: str) -> np.ndarray:
        return self.geo == geo


def _check_duplicates(t: _GeoTable) -> None:
    """Each (date, geo) once."""
    dup = pd.DataFrame({"d": t.dates, "g": t.geo}).duplicated(keep=False).to_numpy()
    if dup.any():
        geo = str(t.geo[dup][0])
        mask = dup & t.in_geo(geo)
        dates = sorted({str(d.date()) for d in t.dates[mask]})
        t.fail(
            t.date_col,
            geo,
            f"{len(dates)} date(s) appear more than once ({_names(dates, 3)}) in {_rows(mask)}"
            + (f"; other geos repeat dates too ({_names(sorted(set(t.geo[dup]) - {geo}), 5)})" if len(set(t.geo[dup])) > 1 else "")
            + ". Each date and geo must appear once: sum or drop the repeats",
        )


def _check_calendar(t: _GeoTable) -> tuple[str, pd.DatetimeIndex]:
    """The frequency and the shared dates: every geo's dates evenly spaced, without gaps, and the same for all geos."""
    calendar = pd.DatetimeIndex(sorted(set(t.dates)))
    if len(calendar) < 2:
        t.fail(t.date_col, None, "only one period in the file")
    wanted = t.cfg.data.frequency
    step = int(np.median(np.diff(calendar.values).astype("timedelta64[D]").astype(int))) if wanted == "auto" else PERIOD_DAYS[wanted]
    freq = {7: "weekly", 1: "daily"}.get(step, "")
    if not freq:
        t.fail(t.date_col, None, f"periods are {step} days apart; only weekly (7 days) and daily data are supported")
    for geo in t.geos:
        rows = np.flatnonzero(t.in_geo(geo))
        order = rows[np.argsort(t.dates[rows].values, kind="stable")]
        gaps = np.diff(t.dates[order].values).astype("timedelta64[D]").astype(int)
        off = np.flatnonzero(gaps != step)
        if len(off):
            i = off[0]
            a, b = t.dates[order[i]], t.dates[order[i + 1]]
            kind = "a gap" if gaps[i] > step and gaps[i] % step == 0 else "irregular spacing"
            t.fail(
                t.date_col,
                geo,
                f"{freq} data, but there is {kind} of {gaps[i]} days between rows {order[i] + 1} ({a.date()}) and "
                f"{order[i + 1] + 1} ({b.date()})"
                + (f" ({len(off)} such places in this geo)" if len(off) > 1 else "")
                + f"; add the missing {freq} periods for this geo (0 spend) or fix the dates",
            )
    for geo in t.geos:
        missing = calendar.difference(pd.DatetimeIndex(t.dates[t.in_geo(geo)]))
        if len(missing):
            has = next(g for g in t.geos if missing[0] in set(t.dates[t.in_geo(g)]))
            t.fail(
                t.date_col,
                geo,
                f"no rows for {len(missing)} {freq} period(s) that other geos have ({_names([str(d.date()) for d in missing], 3)}; "
                f"geo '{has}' has them); every geo needs the same dates: add those rows (0 spend) or drop those dates from every geo",
            )
    return freq, calendar


def _population(t: _GeoTable) -> np.ndarray | None:
    """People per geo (geo,), in `t.geos` order; None without a population column."""
    col = t.cfg.data.population_column
    if col is None:
        return None
    raw = t.df[col]
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
    for geo in t.geos:
        mine = t.in_geo(geo)
        bad = mine & ~(np.isfinite(values) & (values > 0))
        if bad.any():
            shown = ", ".join(repr(str(v)) for v in raw[bad].iloc[:3])
            t.fail(
                col,
                geo,
                f"population missing, not a number or not above 0 in {_rows(bad)} ({shown}); give the geo's population (people) on each of its rows",
            )
        if np.ptp(values[mine]) > 0:
            usual = pd.Series(values[mine]).mode().iloc[0]
            odd = mine & (values != usual)
            t.fail(
                col,
                geo,
                f"population differs between its rows: {usual:,.0f} on most, but "
                f"{', '.join(f'{v:,.0f}' for v in np.unique(values[odd])[:3])} on {_rows(odd)}; give one figure per geo (e.g. the latest) on all its rows",
            )
    return np.array([values[t.in_geo(g)][0] for g in t.geos])


def _national_totals(t: _GeoTable, column: str, name: str, calendar: pd.DatetimeIndex) -> np.ndarray:
    """A nationally bought channel's spend per date (date,): the figure its rows of that date agree on, currency."""
    raw = t.df[column]
    values = t.chk.numeric(column, "spend")
    neg = values < 0
    if neg.any():
        t.fail(column, None, f"negative spend in {_rows(neg)}; {NEGATIVE_SPEND}")
    frame = pd.DataFrame({"date": t.dates, "v": values, "row": np.arange(len(values)) + 1})
    given = frame[raw.notna().to_numpy()]
    totals = given.groupby("date")["v"].agg(["min", "max"]).reindex(calendar)
    absent = totals.index[totals["min"].isna()]
    if len(absent):
        t.fail(
            column,
            None,
            f"channel '{name}' is bought nationally (national: true) but no row gives its spend for {_names([str(d.date()) for d in absent], 3)}"
            f"{f' ({len(absent)} dates)' if len(absent) > 3 else ''}; write the national total on at least one row of every date (0 without spend)",
        )
    differ = totals.index[(totals["max"] - totals["min"]) > NATIONAL_TOLERANCE]
    if len(differ):
        rows = given[given["date"] == differ[0]]["row"].to_numpy()
        t.fail(
            column,
            None,
            f"channel '{name}' is bought nationally (national: true), so its column holds one national total per date, but the "
            f"rows of {differ[0].date()} disagree ({format_rows(rows, verb='hold')} {totals['min'][differ[0]]:,.2f} to {totals['max'][differ[0]]:,.2f}){f' and so do {len(differ) - 1} more dates' if len(differ) > 1 else ''}; "
            "write the same national figure on every geo's row (or on one row per date), or remove national: true if the figures are per geo",
        )
    return totals["min"].to_numpy(dtype=float)


def check_geo_table(cfg: Config, df: pd.DataFrame, path: Path) -> ModelData:
    """Validate a long-format table (one row per date and geo) read from `path`; data sorted by date, then geo.

    Raises DataError naming the file, column, geo and rows (numbered from 1 in the table's order).
    """
    roles = require_columns(cfg, df, path)
    extra = {str(cfg.data.geo_column): "data.geo_column"}
    if cfg.data.population_column:
        extra[cfg.data.population_column] = "data.population_column"
    _Checker(df, path).require_columns(extra)
    roles.update(extra)
    if len(df) == 0:
        _Checker(df, path).fail(None, "the file has no rows")
    t = _GeoTable(cfg, df, path)
    _check_duplicates(t)
    freq, calendar = _check_calendar(t)
    population = _population(t)
    n, n_geos = len(calendar), len(t.geos)
    order = np.lexsort((np.searchsorted(t.geos, t.geo), t.dates.values))  # by date, then geo

    def panel(values: np.ndarray) -> np.ndarray:
        """Per-row values (row, ...) as (date, geo, ...), in the sorted order."""
        return values[order].reshape(n, n_geos, *values.shape[1:])

    target_col = cfg.data.target_column
    warnings: list[str] = []
    with t.chk.each():  # each block's problem is kept and the next block runs: all are named at once
        target = t.chk.numeric(target_col, "the target", blanks=ROW_BLANKS)
        if np.nanstd(target) == 0:
            t.fail(target_col, None, f"the target is constant ({target[0]:g}) in every row; a model needs it to vary")
        if cfg.outcome.is_count and (counts := count_problem(target)):
            t.fail(target_col, None, counts)
        for geo in t.geos:
            mine = t.in_geo(geo)
            sold = int(np.sum(target[mine] != 0))
            if sold == 0:
                t.fail(
                    target_col,
                    geo,
                    f"the target is 0 in every period ({_rows(mine)}); check the export for this geo, or drop its rows",
                )
            if sold < max(MIN_PERIODS, n // 2):
                warnings.append(
                    f"geo '{geo}' has a non-zero {target_col} in only {sold} of {n} periods; its own estimates will rest mostly on the other geos"
                )
    value, value_col = None, value_column(cfg)
    if value_col:
        with t.chk.each():
            value = t.chk.numeric(value_col, "the value per conversion", blanks=ROW_BLANKS)
            if problem := value_problem(value):
                t.fail(value_col, None, problem)

    notes = [
        f"'{t.date_col}': dates, {freq}",
        f"'{t.geo_col}': geo, {n_geos} geos ({_names(t.geos)}); {n} periods each",
        f"'{target_col}': target",
    ]
    if population is not None:
        notes.append(f"'{cfg.data.population_column}': population per geo ({population.sum():,.0f} in all)")
    if value_col:
        notes.append(f"'{value_col}': value per conversion")
    shares = np.full(n_geos, 1.0 / n_geos) if population is None else population / population.sum()
    spend = np.zeros((n, n_geos, len(cfg.channels)))
    for i, ch in enumerate(cfg.channels):
        with t.chk.each():
            col = ch.spend_column
            if ch.national:
                totals = _national_totals(t, col, ch.name, calendar)
                spend[:, :, i] = totals[:, None] * shares[None, :]
                how = "by population" if population is not None else "equally (no data.population_column to split by population)"
                notes.append(
                    f"'{col}': spend of channel {ch.name} ({ch.tier}); {ch.name} was bought nationally; split to the {n_geos} geos {how}"
                )
            else:
                values = t.chk.numeric(col, "spend", blanks=SPEND_BLANKS)
                neg = values < 0
                if neg.any():
                    t.fail(
                        col,
                        str(t.geo[neg][0]),
                        f"negative spend in {_rows(neg)}; {NEGATIVE_SPEND}",
                    )
                spend[:, :, i] = panel(values)
                notes.append(f"'{col}': spend of channel {ch.name} ({ch.tier}), by geo")
                if n_geos > 1 and np.ptp(spend[:, :, i], axis=1).max() == 0:
                    warnings.append(
                        f"'{col}': channel '{ch.name}' has the same spend in every geo on every date; if that is the national total "
                        f"written on each geo's row, mark the channel national: true so it is split to the geos, not counted {n_geos} times"
                    )
            if not np.any(spend[:, :, i] > 0):
                t.fail(col, None, f"channel '{ch.name}' has no spend in any period or geo; remove it from channels")
    with t.chk.each():
        controls, control_names = _encode_controls(t.chk, list(cfg.controls), notes)
    t.chk.finish()
    unused = [str(c) for c in df.columns if c not in roles]
    if unused:
        notes.append(f"not used: {', '.join(unused)} (add them as channels or controls in the config to use them)")

    warnings += _period_checks(cfg, t, n, len(control_names), freq)
    names = cfg.channel_names
    warnings += spend_warnings(spend.sum(axis=1), names)  # on national totals

    return ModelData.from_panel(
        calendar,
        freq,
        t.geos,
        panel(target),
        spend,
        names,
        panel(controls),
        control_names,
        source=str(path),
        warnings=warnings,
        notes=notes,
        population=population,
        value=None if value is None else panel(value),
    )


def _period_checks(cfg: Config, t: _GeoTable, n: int, n_controls: int, frequency: str) -> list[str]:
    """Enough periods for the model (DataError when not), and a warning when under a year of weeks."""
    if n < MIN_PERIODS:
        t.fail(t.date_col, None, f"only {n} periods; a marketing-mix model needs at least {MIN_PERIODS} (better 104 weekly)")
    n_params = count_parameters(cfg, n_controls, n, frequency)
    if n < MIN_PERIODS_PER_PARAMETER * n_params:
        t.fail(
            None,
            None,
            f"{n} periods cannot support a model with {n_params} parameters (need at least {MIN_PERIODS_PER_PARAMETER * n_params} periods); "
            "use fewer channels or controls, a lower model.seasonality_order, or more data",
        )
    return [f"only {n} periods of data; estimates will be uncertain below {WARN_PERIODS} (a year of weeks)"] if n < WARN_PERIODS else []


def refuse_geo(cfg: Config, what: str) -> None:
    """DataError when the config reads data by geo, for steps that handle national data only (`what` names the step)."""
    if cfg.data.geo_column:
        raise DataError(
            f"{cfg.data_path()}: {what} does not handle data by geo (data.geo_column) yet; fit the model again with `mmm fit` on the full file"
        )
