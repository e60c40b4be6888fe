"""Read the analyst's files as tables: CSV/TSV with their delimiter, decimal mark and text encoding
sniffed, or Parquet; and dates as a file writes them.

Problems that make a file unreadable as a table (not text, empty, a column named twice, rows with more
fields than the header) are DataErrors naming the file and what to do; the checks of what the table
holds are `mmm.data.loading`'s.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from mmm.core.errors import DataError

PARQUET_SUFFIXES = (".parquet", ".pq")
DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab"}  # in order of preference when the text fits several
DECIMAL_MARKS = {".": "decimal points", ",": "decimal commas"}
_SNIFF_LINES = 20  # lines the delimiter is judged on: it must split every one of them
_DOTTED_DATE = r"\d{1,2}\.\d{1,2}\.\d{4}"  # day.month.year
_SLASHED_DATE = r"^(\d{1,2})/(\d{1,2})/\d{4}$"  # day/month/year or month/day/year: one order per column


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


def sniff_format(path: Path, text: str | None = None) -> TextFormat:
    """The delimiter and decimal mark of a delimited text file, judged from its text.

    The delimiter is the one of comma, semicolon and tab that splits each of the first lines into the
    most fields (comma on a tie). After a comma the decimal mark is a point. After a semicolon or a tab
    it is the mark the numbers show ('12,5' or '1.234,56' for a comma, '12.5' for a point); where no
    number tells, a comma after a semicolon (the European spreadsheet export) and a point after a tab.
    Raises DataError when the numbers use both marks.
    """
    lines = [line for line in (decode_text(path) if text is None else text).splitlines() if line.strip()]

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


def decode_text(path: Path) -> str:
    """The file's text: UTF-8 (with or without a byte-order mark), UTF-16 with its byte-order mark, else
    Windows-1252, as spreadsheets on Windows save CSV. Raises DataError for a file that is empty, a workbook or
    not text at all."""
    raw = path.read_bytes()
    if raw.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        raise DataError(
            f"{path}: this is a spreadsheet workbook, not a CSV; save the sheet as CSV (UTF-8) or Parquet and point to that file"
        )
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16, as Excel saves "Unicode Text"
        return _non_empty(path, raw.decode("utf-16"))
    if b"\x00" in raw:
        raise DataError(f"{path}: this is not a text file; give a CSV/TSV (UTF-8) or Parquet file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    return _non_empty(path, text)


def _non_empty(path: Path, text: str) -> str:
    """`text`, or a DataError when it holds nothing but white space."""
    if not text.strip():
        raise DataError(f"{path}: the file is empty; export the table again with its header row and data")
    return text


def read_delimited(path: Path) -> Table:
    """A CSV or TSV file with its delimiter (comma, semicolon or tab), decimal mark (`sniff_format`) and encoding
    (`decode_text`) sniffed.

    Raises DataError for a file that is not a table: empty, a workbook, a column named twice, or rows with
    more fields than the header; and what pandas' parser raises for other malformed text.
    """
    text = decode_text(path)
    fmt = sniff_format(path, text)
    header = next(csv.reader([text.lstrip().splitlines()[0]], delimiter=fmt.delimiter))
    names = [name.strip() for name in header]
    twice = sorted({n for n in names if n and names.count(n) > 1})
    if twice:
        where = "; ".join(f"'{n}' is columns {', '.join(str(i + 1) for i, m in enumerate(names) if m == n)}" for n in twice)
        raise DataError(f"{path}: a column name appears more than once ({where}); rename or remove the repeats")
    try:
        frame = pd.read_csv(io.StringIO(text), sep=fmt.delimiter, decimal=fmt.decimal)
    except pd.errors.ParserError as exc:
        found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if found is None:
            raise
        expected, line, saw = found.groups()
        raise DataError(
            f"{path}, line {line}: {saw} fields where the header has {expected}; a value holds a stray '{fmt.delimiter}' "
            f"(a thousands separator, or text with a '{fmt.delimiter}' in it): put that value in double quotes or remove the separator"
        ) from None
    if not isinstance(frame.index, pd.RangeIndex):
        raise DataError(
            f"{path}: the rows have more fields than the header ({len(header)} names); a value holds a stray "
            f"'{fmt.delimiter}' or a column has no name; fix the header or the rows"
        )
    filled = np.flatnonzero(frame.notna().any(axis=1).to_numpy())
    frame = frame.iloc[: filled[-1] + 1 if len(filled) else 0]  # rows of empty cells at the end (a spreadsheet's export)
    return Table(_parse_marked_numbers(frame, fmt), fmt)


def read_data_file(path: Path, named_by: str = "data.path in the config, relative to the config file") -> Table:
    """Read the data file, CSV (sniffed) or Parquet, with a clear error when it is missing or unreadable.

    `named_by`: where the user gave the path, for the message when there is no such file.
    """
    if not path.is_file():
        raise DataError(f"{path}: data file not found (check {named_by})")
    parquet = path.suffix.lower() in PARQUET_SUFFIXES
    try:
        return Table(pd.read_parquet(path), None) if parquet else read_delimited(path)
    except DataError:
        raise
    except Exception as exc:
        raise DataError(f"{path}: cannot read the file as {'Parquet' if parquet else 'CSV'}: {exc}") from None


def read_table(path: Path, named_by: str = "data.path in the config, relative to the config file") -> pd.DataFrame:
    """The data file's rows and columns (`read_data_file` without how it was read)."""
    return read_data_file(path, named_by).frame


def read_dates(raw: pd.Series) -> pd.Series:
    """A column of dates as the file writes them; NaT where unreadable.

    ISO dates, 31.01.2024 (day first, as European spreadsheets write them), or dates with slashes read in one
    order for the whole column: day first when a first number is above 12 (31/01/2024), else month first.
    """
    text = raw.astype(str).str.strip()
    if text.str.fullmatch(_DOTTED_DATE).all():
        return pd.to_datetime(text, errors="coerce", format="%d.%m.%Y")
    slashed = text.str.extract(_SLASHED_DATE)
    if slashed.notna().all().all() and len(text):
        dayfirst = bool((slashed[0].astype(int) > 12).any())
        return pd.to_datetime(text, errors="coerce", format="%d/%m/%Y" if dayfirst else "%m/%d/%Y")
    return pd.to_datetime(text, errors="coerce", format="mixed")


def read_date(value: object, where: str) -> pd.Timestamp:
    """One date a user typed (a flag, a key of a file): a Timestamp, or a DataError naming `where`."""
    date = read_dates(pd.Series([value])).iloc[0]
    if pd.isna(date):
        raise DataError(f"{where}: {str(value)!r} is not a date; write it as an ISO date like 2025-01-06")
    return pd.Timestamp(date)
