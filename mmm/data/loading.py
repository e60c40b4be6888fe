"""Load the analyst's file and check it against the config before any model sees it.

Every problem is reported with the file, the column and the rows (row 1 is the first line
under the header), and what to do about it. Problems that make a fit meaningless are errors
(DataError, exit status 2); ones that only weaken it are warnings kept on the result.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import NoReturn

import numpy as np
import pandas as pd

from mmm.config import Config
from mmm.core.constants import WEEK_ORDER
from mmm.core.errors import DataError
from mmm.data.conversions import VALUE_ROLE, count_problem, value_column, value_problem
from mmm.data.dataset import MIN_PERIODS, PERIOD_DAYS, WARN_PERIODS, ModelData, format_rows
from mmm.data.quality import MIN_PERIODS_PER_PARAMETER, spend_warnings
from mmm.data.reading import Table, read_data_file, read_dates
from mmm.transforms import MediaSeasonality, MediaTransform

SPEND_BLANKS = "fill them in (0 for weeks without spend) or drop those periods"  # what to do about blank spend
ROW_BLANKS = "fill them in or drop those rows"
NEGATIVE_SPEND = "spend must be 0 or more (refunds belong in another column)"


class DataProblemsError(DataError):
    """Several problems, each a whole message naming file and column: one DataError that lists them all."""

    def __init__(self, where: str, messages: list[str]) -> None:
        many = f"{where}: {len(messages)} problems to fix:\n  - " + "\n  - ".join(messages)
        super().__init__(messages[0] if len(messages) == 1 else many)
        self.messages = messages


class _Checker:
    """Runs the checks on one table; `where` prefixes each message with the file name."""

    def __init__(self, df: pd.DataFrame, path: Path):
        self.df = df
        self.where = str(path)
        self.problems: list[str] = []

    @contextmanager
    def each(self) -> Iterator[None]:
        """One check that does not depend on the others: its error is kept, and the next check runs (`finish`)."""
        try:
            yield
        except DataProblemsError as exc:
            self.problems.extend(exc.messages)
        except DataError as exc:
            self.problems.append(str(exc))

    def finish(self) -> None:
        """Raise every problem the checks under `each` found, in one DataError (the one message when there is one)."""
        if self.problems:
            raise DataProblemsError(self.where, self.problems)

    def fail(self, column: str | None, msg: str) -> NoReturn:
        col = f", column '{column}'" if column else ""
        raise DataError(f"{self.where}{col}: {msg}")

    def require_columns(self, columns: dict[str, str]) -> None:
        missing = [f"'{c}' ({role})" for c, role in columns.items() if c not in self.df.columns]
        if missing:
            have = ", ".join(str(c) for c in self.df.columns)
            raise DataError(
                f"{self.where}: unknown column {', '.join(missing)}; the file has: {have}. Fix the column name in the config or the file."
            )

    def no_missing(self, column: str, fix: str = ROW_BLANKS) -> None:
        """Fail naming the rows where `column` is blank; `fix` says what to do about them."""
        bad = np.flatnonzero(self.df[column].isna().to_numpy()) + 1
        if len(bad):
            self.fail(column, f"missing values in {format_rows(bad)}; {fix}")

    def numeric(self, column: str, what: str, blanks: str | None = None, negative: str | None = None) -> np.ndarray:
        """`column` as numbers (NaN where blank), or a DataError naming every kind of bad cell at once: text and
        infinite values; blank cells when `blanks` says what to do about them; values below 0 when `negative` says why not."""
        raw = self.df[column]
        values = pd.to_numeric(raw, errors="coerce")
        as_float = values.to_numpy(dtype=float)
        found = []
        gaps = np.flatnonzero(raw.isna().to_numpy()) + 1
        if blanks is not None and len(gaps):
            found.append(f"missing values in {format_rows(gaps)}; {blanks}")
        bad = np.flatnonzero((values.isna().to_numpy() & raw.notna().to_numpy()) | np.isinf(as_float)) + 1
        if len(bad):
            examples = ", ".join(repr(str(v)) for v in raw.iloc[bad[:3] - 1])
            found.append(f"{what} must be numeric; {format_rows(bad, verb='hold')} {examples}. Remove currency symbols or text.")
        below = np.flatnonzero(as_float < 0) + 1
        if negative is not None and len(below):
            found.append(f"negative {what} in {format_rows(below)}; {negative}")
        if found:
            raise DataProblemsError(self.where, [f"{self.where}, column '{column}': {msg}" for msg in found])
        return as_float


def _parse_dates(chk: _Checker, column: str) -> pd.DatetimeIndex:
    raw = chk.df[column]
    dates = read_dates(raw)
    bad = np.flatnonzero(dates.isna().to_numpy()) + 1
    if len(bad):
        examples = ", ".join(repr(str(v)) for v in raw.iloc[bad[:3] - 1])
        chk.fail(column, f"cannot read dates in {format_rows(bad)} ({examples}); use ISO dates like 2024-01-29")
    dup = np.flatnonzero(dates.duplicated(keep=False).to_numpy()) + 1
    if len(dup):
        chk.fail(column, f"duplicate dates in {format_rows(dup)}; each period must appear once (sum or drop the repeats)")
    return pd.DatetimeIndex(dates)


def _detect_frequency(chk: _Checker, column: str, dates: pd.DatetimeIndex, order: np.ndarray, wanted: str) -> str:
    """Weekly or daily from the spacing of sorted dates; gaps and irregular spacing are errors."""
    sorted_dates = dates[order]
    gaps = np.diff(sorted_dates.values).astype("timedelta64[D]").astype(int)
    if len(gaps) == 0:
        chk.fail(column, "only one period in the file")
    step = int(np.median(gaps)) if wanted == "auto" else PERIOD_DAYS[wanted]
    freq = {7: "weekly", 1: "daily"}.get(step)
    if freq is None:
        chk.fail(column, f"periods are {step} days apart; only weekly (7 days) and daily data are supported")
    off = np.flatnonzero(gaps != step)
    if len(off):
        i = off[0]
        a, b = sorted_dates[i], sorted_dates[i + 1]
        shown = "%Y-%m-%d %H:%M" if (a.normalize() != a or b.normalize() != b) else "%Y-%m-%d"  # times shown when the dates carry them
        rows = f"rows {order[i] + 1} ({a:{shown}}) and {order[i + 1] + 1} ({b:{shown}})"
        kind = "a gap" if gaps[i] > step and gaps[i] % step == 0 else "irregular spacing"
        chk.fail(
            column,
            (f"detected {freq} data" if wanted == "auto" else f"data.frequency is {wanted}")
            + f", but there is {kind} of {gaps[i]} days between {rows}"
            + (f" ({len(off)} such places)" if len(off) > 1 else "")
            + f"; add the missing {freq} periods (0 spend) or fix the dates",
        )
    return freq


def _encode_controls(chk: _Checker, names: list[str], notes: list[str]) -> tuple[np.ndarray, list[str]]:
    """Numeric controls as they are; text controls as 0/1 indicators against their most common value."""
    columns, out_names = [], []
    for name in names:
        chk.no_missing(name)
        raw = chk.df[name]
        values = pd.to_numeric(raw, errors="coerce")
        if values.notna().all():
            inf = np.flatnonzero(np.isinf(values.to_numpy(dtype=float))) + 1
            if len(inf):
                chk.fail(name, f"infinite values in {format_rows(inf)}; a control must hold finite numbers")
            if values.nunique() < 2:
                chk.fail(name, "control is constant over all periods, so it cannot explain anything; remove it from controls")
            columns.append(values.to_numpy(dtype=float))
            out_names.append(name)
            notes.append(f"'{name}': numeric control")
            continue
        text = np.flatnonzero(values.isna().to_numpy())
        if len(text) < len(raw) / 2:  # mostly numbers: the text is a typo, not a category
            examples = ", ".join(repr(str(v)) for v in raw.iloc[text[:3]])
            chk.fail(
                name,
                f"{format_rows(text + 1, verb='hold')} {examples} in a column of numbers; write a number there (or drop those periods)",
            )
        levels = raw.astype(str).value_counts()
        if len(levels) < 2:
            chk.fail(name, "control is constant over all periods; remove it from controls")
        base = levels.index[0]
        for level in levels.index[1:]:
            columns.append((raw.astype(str) == level).to_numpy(dtype=float))
            out_names.append(f"{name}={level}")
        notes.append(
            f"'{name}': categorical control with {len(levels)} values; indicators for {', '.join(map(str, levels.index[1:]))} against '{base}'"
        )
    matrix = np.column_stack(columns) if columns else np.zeros((len(chk.df), 0))
    return matrix, out_names


def count_parameters(cfg: Config, n_controls: int, periods: int = MIN_PERIODS, frequency: str = "weekly") -> int:
    """Free parameters of the model the config describes, fitted on `periods` periods of `frequency` data.

    `periods` matters only to a flexible trend (its number of changepoints); by default the fewest; `frequency`
    only to the weekday terms of daily data.
    """
    m = cfg.model
    per_channel = 1 + max(
        len(MediaTransform.from_options(form).params) for form in m.forms()
    )  # ROAS plus the curves' own (largest candidate)
    n_trend = m.trend_parameters(periods)
    seasonal = 2 * m.seasonality_order + 2 * WEEK_ORDER * (m.weekday and frequency == "daily")
    fixed = 1 + n_trend + seasonal + MediaSeasonality().size * m.media_seasonality + n_controls + 1
    return len(cfg.channels) * per_channel + fixed + int(m.likelihood == "student_t")


def load_data(cfg: Config, table: Table | None = None) -> ModelData:
    """Read the config's data file (or take it as `read_data_file` read it) and validate it.

    Raises DataError naming file, column and rows; the first note says how the file was read.
    """
    path = cfg.data_path()
    table = read_data_file(path) if table is None else table
    check = check_table
    if cfg.data.geo_column:  # long format by geo: mmm.data.geo builds on the checks here, so it comes in late
        from mmm.data.geo import check_geo_table as check
    data = check(cfg, table.frame, path)
    return replace(data, notes=(table.note(path), *data.notes))


def require_columns(cfg: Config, df: pd.DataFrame, path: Path) -> dict[str, str]:
    """Each column the config names, with its role; DataError naming the file and what it lacks."""
    roles = {cfg.data.date_column: "data.date_column", cfg.data.target_column: "data.target_column"}
    roles.update({c.spend_column: f"spend of channel {c.name}" for c in cfg.channels})
    roles.update({c: "control" for c in cfg.controls})
    value_col = value_column(cfg)
    if value_col:
        roles[value_col] = VALUE_ROLE
    _Checker(df, path).require_columns(roles)
    return roles


def _spend(chk: _Checker, column: str, channel: str) -> np.ndarray:
    """A channel's spend column, checked: no blanks, numbers, none negative, some spend (currency per period)."""
    values = chk.numeric(column, "spend", blanks=SPEND_BLANKS, negative=NEGATIVE_SPEND)
    if not np.any(values > 0):
        chk.fail(column, f"channel '{channel}' has no spend in any period; remove it from channels")
    return values


def check_table(cfg: Config, df: pd.DataFrame, path: Path) -> ModelData:
    """Validate a table read from `path` against the config; messages number its rows from 1 in the table's order."""
    chk = _Checker(df, path)
    date_col, target_col = cfg.data.date_column, cfg.data.target_column
    roles = require_columns(cfg, df, path)
    if len(df) == 0:
        chk.fail(None, "the file has no rows")

    with chk.each():
        chk.no_missing(date_col)
        dates = _parse_dates(chk, date_col)
        order = np.argsort(dates.values, kind="stable")
        freq = _detect_frequency(chk, date_col, dates, order, cfg.data.frequency)

    with chk.each():
        target = chk.numeric(target_col, "the target", blanks=ROW_BLANKS)
        if np.nanstd(target) == 0:
            chk.fail(target_col, f"the target is constant ({target[0]:g}) in every row; a model needs it to vary")
        if cfg.outcome.is_count and (counts := count_problem(target)):
            chk.fail(target_col, counts)
    value, value_col = None, value_column(cfg)
    if value_col:
        with chk.each():
            value = chk.numeric(value_col, "the value per conversion", blanks=ROW_BLANKS)
            if problem := value_problem(value):
                chk.fail(value_col, problem)

    spend_cols = []
    for ch in cfg.channels:
        with chk.each():
            spend_cols.append(_spend(chk, ch.spend_column, ch.name))
    control_notes: list[str] = []
    with chk.each():
        controls, control_names = _encode_controls(chk, list(cfg.controls), control_notes)
    chk.finish()

    notes = [f"'{date_col}': dates, {freq}", f"'{target_col}': target"] + ([f"'{value_col}': value per conversion"] if value_col else [])
    notes += [f"'{c.spend_column}': spend of channel {c.name} ({c.tier})" for c in cfg.channels] + control_notes
    spend = np.column_stack(spend_cols)
    unused = [str(c) for c in df.columns if c not in roles]
    if unused:
        notes.append(f"not used: {', '.join(unused)} (add them as channels or controls in the config to use them)")

    n = len(df)
    warnings: list[str] = []
    if n < MIN_PERIODS:
        chk.fail(date_col, f"only {n} periods; a marketing-mix model needs at least {MIN_PERIODS} (better 104 weekly)")
    if n < WARN_PERIODS:
        warnings.append(f"only {n} periods of data; estimates will be uncertain below {WARN_PERIODS} (a year of weeks)")
    n_params = count_parameters(cfg, len(control_names), n, freq)
    if n < MIN_PERIODS_PER_PARAMETER * n_params:
        chk.fail(
            None,
            f"{n} periods cannot support a model with {n_params} parameters (need at least {MIN_PERIODS_PER_PARAMETER * n_params} periods); "
            "use fewer channels or controls, a lower model.seasonality_order, or more data",
        )

    names = cfg.channel_names
    warnings += spend_warnings(spend, names)

    return ModelData.from_arrays(
        dates[order],
        freq,
        target[order],
        spend[order],
        names,
        controls[order],
        control_names,
        source=str(path),
        warnings=warnings,
        notes=notes,
        value=None if value is None else value[order],
    )
