"""Load the analyst's file and check it against the config before any model sees it.

Every problem is reported with the file, the column and the rows (row 1 is the first line
under the header), and what to do about it. Problems that make a fit meaningless are errors
(DataError, exit status 2); ones that only weaken it are warnings kept on the result.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import NamedTuple, NoReturn

import numpy as np
import pandas as pd

from mmm.config import Config
from mmm.core.errors import DataError
from mmm.data.conversions import VALUE_ROLE, count_problem, value_column, value_problem
from mmm.data.dataset import MIN_PERIODS, PERIOD_DAYS, WARN_PERIODS, ModelData, format_rows
from mmm.data.quality import MIN_PERIODS_PER_PARAMETER, spend_warnings
from mmm.transforms import MediaSeasonality, MediaTransform

PARQUET_SUFFIXES = (".parquet", ".pq")
DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab"}  # in order of preference when the text fits several
DECIMAL_MARKS = {".": "decimal points", ",": "decimal commas"}
_SNIFF_LINES = 20  # lines the delimiter is judged on: it must split every one of them
_DOTTED_DATE = r"\d{1,2}\.\d{1,2}\.\d{4}"  # day.month.year


@dataclass(frozen=True)
class TextFormat:
    """How a delimited text file is written: its field delimiter and its decimal mark."""

    delimiter: str  # ',', ';' or a tab
    decimal: str  # '.' or ','

    @property
    def thousands(self) -> str:
        """The digit-grouping mark a number may carry: the other one of '.' and ','."""
        return "," if self.decimal == "." else "."

    def describe(self) -> str:
        """'semicolon-separated with decimal commas'."""
        return f"{DELIMITERS[self.delimiter]}-separated with {DECIMAL_MARKS[self.decimal]}"

    def to_dict(self) -> dict[str, str]:
        return {"delimiter": self.delimiter, "decimal": self.decimal}


class Table(NamedTuple):
    """A file as read: its rows and columns, and its text format (None for Parquet)."""

    frame: pd.DataFrame
    read_as: TextFormat | None

    def note(self, path: Path) -> str:
        """How the file was read, for the notes `mmm validate` prints."""
        return f"Read {path.name} as {self.read_as.describe() if self.read_as else 'Parquet'}"


def _number(decimal: str, thousands: str) -> re.Pattern[str]:
    """A number written with this decimal mark, optionally grouped in thousands: '1.234,56', '-0,5', '12'."""
    d, t = re.escape(decimal), re.escape(thousands)
    return re.compile(rf"[+-]?(?:(?:\d{{1,3}}(?:{t}\d{{3}})+|\d+)(?:{d}\d*)?|{d}\d+)(?:[eE][+-]?\d+)?")


_NUMBERS = {".": _number(".", ","), ",": _number(",", ".")}  # by decimal mark
_AMBIGUOUS = re.compile(r"[+-]?[1-9]\d{0,2}[.,]\d{3}")  # '1.234' or '1,234': a decimal or a thousand


def _decimal_evidence(value: str, decimal: str) -> bool:
    """Whether `value` can only be a number written with this decimal mark ('12,5', '1.234,5', '1.234.567' for a comma)."""
    thousands = "," if decimal == "." else "."
    shows = decimal in value or value.count(thousands) > 1
    return shows and bool(_NUMBERS[decimal].fullmatch(value)) and not _AMBIGUOUS.fullmatch(value)


def sniff_format(path: Path) -> TextFormat:
    """The delimiter and decimal mark of a delimited text file, judged from its text.

    The delimiter is the one of comma, semicolon and tab that splits each of the first lines into the
    most fields (comma on a tie). After a comma the decimal mark is a point. After a semicolon or a tab
    it is the mark the numbers show ('12,5' or '1.234,56' for a comma, '12.5' for a point); where no
    number tells, a comma after a semicolon (the European spreadsheet export) and a point after a tab.
    Raises DataError when the numbers use both marks.
    """
    lines = [line for line in path.read_text(encoding="utf-8-sig").splitlines() if line.strip()]

    def fields(delimiter: str) -> int:
        return min((len(row) for row in csv.reader(lines[:_SNIFF_LINES], delimiter=delimiter)), default=1)

    delimiter = max(DELIMITERS, key=fields)
    if delimiter == ",":
        return TextFormat(",", ".")
    rows = list(csv.reader(lines, delimiter=delimiter))
    header = rows[0] if rows else []
    seen: dict[str, tuple[str, str]] = {}  # decimal mark -> (column, value) of the first number that shows it
    for row in rows[1:]:
        for column, value in zip(header, row):
            for mark in DECIMAL_MARKS:
                if mark not in seen and _decimal_evidence(value.strip(), mark):
                    seen[mark] = (column, value.strip())
    if len(seen) == 2:
        (pc, pv), (cc, cv) = seen["."], seen[","]
        raise DataError(
            f"{path}: numbers use both decimal marks: column '{pc}' holds '{pv}' (decimal point) and column '{cc}' holds "
            f"'{cv}' (decimal comma); export the file again with one decimal mark throughout"
        )
    default = "," if delimiter == ";" else "."
    return TextFormat(delimiter, next(iter(seen), default))


def _parse_marked_numbers(frame: pd.DataFrame, fmt: TextFormat) -> pd.DataFrame:
    """Numbers the CSV parser left as text because they carry thousands marks ('1.234,56'), or sit in a column
    with some text: parsed, in any column holding at least one; other text stays as it is."""
    number = _NUMBERS[fmt.decimal]
    out = frame.copy()
    for column in frame.columns:
        if pd.api.types.is_numeric_dtype(frame[column]) or pd.api.types.is_bool_dtype(frame[column]):
            continue
        text = frame[column].astype("string").str.strip()
        hits = text.str.fullmatch(number).fillna(False).astype(bool)
        marked = hits & text.str.contains(f"[{re.escape(fmt.decimal + fmt.thousands)}]").fillna(False).astype(bool)
        if not marked.any():
            continue
        plain = text[hits].str.replace(fmt.thousands, "", regex=False).str.replace(fmt.decimal, ".", regex=False)
        values = frame[column].astype(object)
        values[hits] = pd.to_numeric(plain).to_numpy()
        out[column] = pd.to_numeric(values) if hits.sum() == frame[column].notna().sum() else values
    return out


def read_delimited(path: Path) -> Table:
    """A CSV or TSV file with its delimiter (comma, semicolon or tab) and decimal mark sniffed (`sniff_format`).

    Raises what reading raises (OSError, UnicodeDecodeError, pandas' parser errors) and DataError
    when the decimal mark is mixed; callers turn those into their own messages.
    """
    fmt = sniff_format(path)
    frame = pd.read_csv(path, sep=fmt.delimiter, decimal=fmt.decimal)
    return Table(frame if fmt.delimiter == "," else _parse_marked_numbers(frame, fmt), fmt)


def read_data_file(path: Path) -> Table:
    """Read the data file, CSV (sniffed) or Parquet, with a clear error when it is missing or unreadable."""
    if not path.is_file():
        raise DataError(f"{path}: data file not found (set data.path in the config, relative to the config file)")
    parquet = path.suffix.lower() in PARQUET_SUFFIXES
    try:
        return Table(pd.read_parquet(path), None) if parquet else read_delimited(path)
    except DataError:
        raise
    except Exception as exc:
        raise DataError(f"{path}: cannot read the file as {'Parquet' if parquet else 'CSV'}: {exc}") from None


def read_table(path: Path) -> pd.DataFrame:
    """The data file's rows and columns (`read_data_file` without how it was read)."""
    return read_data_file(path).frame


class _Checker:
    """Runs the checks on one table; `where` prefixes each message with the file name."""

    def __init__(self, df: pd.DataFrame, path: Path):
        self.df = df
        self.where = str(path)

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

    def no_missing(self, column: str) -> None:
        bad = np.flatnonzero(self.df[column].isna().to_numpy()) + 1
        if len(bad):
            self.fail(column, f"missing values in {format_rows(bad)}; fill them in (0 for weeks without spend) or drop those periods")

    def numeric(self, column: str, what: str) -> np.ndarray:
        raw = self.df[column]
        values = pd.to_numeric(raw, errors="coerce")
        as_float = values.to_numpy(dtype=float)
        bad = np.flatnonzero((values.isna().to_numpy() & raw.notna().to_numpy()) | np.isinf(as_float)) + 1
        if len(bad):
            examples = ", ".join(repr(str(v)) for v in raw.iloc[bad[:3] - 1])
            self.fail(column, f"{what} must be numeric; {format_rows(bad)} hold {examples}. Remove currency symbols or text.")
        return values.to_numpy(dtype=float)


def read_dates(raw: pd.Series) -> pd.Series:
    """A column of dates as the file writes them (ISO, or 31.01.2024 as European spreadsheets do); NaT where unreadable."""
    text = raw.astype(str)
    dayfirst = bool(text.str.fullmatch(_DOTTED_DATE).all())
    return pd.to_datetime(text, errors="coerce", format="mixed", dayfirst=dayfirst)


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
        rows = f"rows {order[i] + 1} ({a.date()}) and {order[i + 1] + 1} ({b.date()})"
        kind = "a gap" if gaps[i] > step and gaps[i] % step == 0 else "irregular spacing"
        chk.fail(
            column,
            f"detected {freq} data, but there is {kind} of {gaps[i]} days between {rows}"
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


def count_parameters(cfg: Config, n_controls: int, periods: int = MIN_PERIODS) -> int:
    """Free parameters of the model the config describes, fitted on `periods` periods.

    `periods` matters only to a flexible trend (its number of changepoints); by default the fewest.
    """
    m = cfg.model
    per_channel = 1 + max(
        len(MediaTransform.from_options(form).params) for form in m.forms()
    )  # ROAS plus the curves' own (largest candidate)
    n_trend = m.trend_parameters(periods)
    fixed = 1 + n_trend + 2 * m.seasonality_order + MediaSeasonality().size * m.media_seasonality + n_controls + 1
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


def check_table(cfg: Config, df: pd.DataFrame, path: Path) -> ModelData:
    """Validate a table read from `path` against the config; messages number its rows from 1 in the table's order."""
    chk = _Checker(df, path)
    date_col, target_col = cfg.data.date_column, cfg.data.target_column
    roles = require_columns(cfg, df, path)
    if len(df) == 0:
        chk.fail(None, "the file has no rows")

    chk.no_missing(date_col)
    dates = _parse_dates(chk, date_col)
    order = np.argsort(dates.values, kind="stable")
    freq = _detect_frequency(chk, date_col, dates, order, cfg.data.frequency)

    chk.no_missing(target_col)
    target = chk.numeric(target_col, "the target")
    if np.nanstd(target) == 0:
        chk.fail(target_col, f"the target is constant ({target[0]:g}) in every row; a model needs it to vary")
    if cfg.outcome.is_count and (counts := count_problem(target)):
        chk.fail(target_col, counts)
    value, value_col = None, value_column(cfg)
    if value_col:
        chk.no_missing(value_col)
        value = chk.numeric(value_col, "the value per conversion")
        if problem := value_problem(value):
            chk.fail(value_col, problem)

    spend_cols = []
    for ch in cfg.channels:
        col = ch.spend_column
        chk.no_missing(col)
        values = chk.numeric(col, "spend")
        neg = np.flatnonzero(values < 0) + 1
        if len(neg):
            chk.fail(col, f"negative spend in {format_rows(neg)}; spend must be 0 or more (refunds belong in another column)")
        if not np.any(values > 0):
            chk.fail(col, f"channel '{ch.name}' has no spend in any period; remove it from channels")
        spend_cols.append(values)
    spend = np.column_stack(spend_cols)

    notes = [f"'{date_col}': dates, {freq}", f"'{target_col}': target"] + ([f"'{value_col}': value per conversion"] if value_col else [])
    notes += [f"'{c.spend_column}': spend of channel {c.name} ({c.tier})" for c in cfg.channels]
    controls, control_names = _encode_controls(chk, list(cfg.controls), notes)
    unused = [str(c) for c in df.columns if c not in roles]
    if unused:
        notes.append(f"not used: {', '.join(unused)} (add them as channels or controls in the config to use them)")

    n = len(df)
    warnings: list[str] = []
    if n < MIN_PERIODS:
        chk.fail(date_col, f"only {n} periods; a marketing-mix model needs at least {MIN_PERIODS} (better 104 weekly)")
    if n < WARN_PERIODS:
        warnings.append(f"only {n} periods of data; estimates will be uncertain below {WARN_PERIODS} (a year of weeks)")
    n_params = count_parameters(cfg, len(control_names), n)
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
