"""Lift-test results (geo experiments, conversion-lift studies, holdouts) and what the model predicts for them.

File (CSV with comma, semicolon or tab and either decimal mark, as `read_delimited` sniffs it; or YAML as a
list of mappings with the same keys), one row per test:
channel, start, end (test dates, inside the data), spend_change (spend added in the treated
group over the whole test, currency; negative when spend was switched off), lift (measured
incremental revenue over the test and its carry-over, currency; same sign convention: a holdout
states a negative change and a negative lift), stated as the test ran: the data hold the test
(they record the spend with it),
lift_se (its standard error, > 0), optional geo_share (share of the market the test covered,
0 < share <= 1; default 1), optional geo (data by geo: the geo the test ran in, one of the data's, or
several joined by "|" as in `north|south` (a YAML list too) for a test treating several regions;
geo_share is then the share of those geos; blank: the whole market).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from mmm.core.constants import NATIONAL
from mmm.core.errors import MMMError
from mmm.data.dataset import ModelData, format_rows
from mmm.data.reading import read_delimited

REQUIRED = ("channel", "start", "end", "spend_change", "lift", "lift_se")
GEO_SEPARATOR = "|"  # between the geos of a test that treated several


@dataclass
class LiftTest:
    """One experiment's result, in currency."""

    channel: str
    start: str
    end: str
    spend_change: float
    lift: float
    lift_se: float
    geo_share: float = 1.0
    geo: str | None = None  # the geo(s) the test ran in (data by geo), several joined by "|"; None: the whole market

    @property
    def geos(self) -> list[str] | None:
        """The treated geos, or None for the whole market."""
        return None if self.geo is None else self.geo.split(GEO_SEPARATOR)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _read_table(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise MMMError(f"{path}: lift-test file not found (calibration: in the config, or --lifts)")
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            raw = yaml.safe_load(path.read_text())
            if not isinstance(raw, list):
                raise MMMError(f"{path}: expected a list of tests, each with {', '.join(REQUIRED)}")
            df = pd.DataFrame(raw)
        else:
            df = read_delimited(path).frame
    except (yaml.YAMLError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise MMMError(f"{path}: cannot read the lift-test file: {exc}") from None
    if df.empty:
        raise MMMError(f"{path}: holds no lift tests; add one row per test or drop the calibration setting")
    return df


def read_lifts(path: str | Path, data: ModelData) -> list[LiftTest]:
    """Validated lift tests against the model's data; errors name the file, column and rows."""
    path = Path(path)
    channels, dates = data.channels, data.dates
    df = _read_table(path)
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise MMMError(f"{path}: missing column(s) {', '.join(missing)}; a lift-test file needs {', '.join(REQUIRED)} (geo_share optional)")
    df["geo_share"] = df["geo_share"].fillna(1.0) if "geo_share" in df.columns else 1.0  # blank: the whole market
    unknown = np.flatnonzero(~df["channel"].astype(str).isin(channels)) + 1
    if len(unknown):
        names = ", ".join(sorted(set(df["channel"].astype(str).iloc[unknown - 1])))
        raise MMMError(
            f"{path}, column 'channel': unknown channel {names} in {format_rows(unknown)}; the model's channels are {', '.join(channels)}"
        )
    geos = _geos(path, df, data)
    for col in ("start", "end"):
        parsed = pd.to_datetime(df[col].astype(str), errors="coerce")
        bad = np.flatnonzero(parsed.isna().to_numpy()) + 1
        if len(bad):
            raise MMMError(f"{path}, column '{col}': cannot read dates in {format_rows(bad)}; use ISO dates like 2024-03-04")
        outside = np.flatnonzero(((parsed < dates[0]) | (parsed > dates[-1])).to_numpy()) + 1
        if len(outside):
            raise MMMError(
                f"{path}, column '{col}': {format_rows(outside, verb='fall')} outside the data ({dates[0].date()} to {dates[-1].date()}); "
                "a test can only calibrate periods the model is fitted on"
            )
        df[col] = parsed
    # a test that starts inside a period (a Tuesday in weekly data) covers that period: it starts at the period's date
    df["start"] = dates[np.clip(dates.searchsorted(df["start"], side="right") - 1, 0, None)]
    reversed_rows = np.flatnonzero((df["end"] < df["start"]).to_numpy()) + 1
    if len(reversed_rows):
        raise MMMError(f"{path}, column 'end': {format_rows(reversed_rows)}: the end comes before the start")
    for col in ("spend_change", "lift", "lift_se", "geo_share"):
        values = pd.to_numeric(df[col], errors="coerce")
        bad = np.flatnonzero(~np.isfinite(values.to_numpy(dtype=float))) + 1
        if len(bad):
            raise MMMError(f"{path}, column '{col}': {format_rows(bad)} must hold a finite number")
        df[col] = values
    bad_se = np.flatnonzero((df["lift_se"] <= 0).to_numpy()) + 1
    if len(bad_se):
        raise MMMError(
            f"{path}, column 'lift_se': {format_rows(bad_se)} must be a positive standard error (the test's reported uncertainty)"
        )
    bad_geo = np.flatnonzero(((df["geo_share"] <= 0) | (df["geo_share"] > 1)).to_numpy()) + 1
    if len(bad_geo):
        raise MMMError(f"{path}, column 'geo_share': {format_rows(bad_geo)} must be a share above 0 and at most 1")
    zero = np.flatnonzero((df["spend_change"] == 0).to_numpy()) + 1
    if len(zero):
        raise MMMError(f"{path}, column 'spend_change': {format_rows(zero)} changed no spend, so they measure nothing")
    for row, (r, geo) in enumerate(zip(df.itertuples(), geos), start=1):
        inside = (dates >= r.start) & (dates <= r.end)
        if not inside.any():
            raise MMMError(f"{path}, columns 'start'/'end': row {row} covers no period of the data; widen the test dates")
        _check_held(path, row, float(r.spend_change), float(r.geo_share), _spend_per_period(data, r.channel, geo), inside)
    return [
        LiftTest(
            str(r.channel),
            str(r.start.date()),
            str(r.end.date()),
            float(r.spend_change),
            float(r.lift),
            float(r.lift_se),
            float(r.geo_share),
            geo,
        )
        for r, geo in zip(df.itertuples(), geos)
    ]


def _spend_per_period(data: ModelData, channel: str, geo: str | None) -> np.ndarray:
    """The channel's spend per period the data record in a test's geos (all of them: the whole market), currency."""
    spend = data.spend.sel(channel=channel)
    if geo is not None:
        spend = spend.sel(geo=geo.split(GEO_SEPARATOR))
    return np.asarray(spend.sum("geo").values, dtype=float)


SHARE_SLACK = 0.25  # a geo_share is often a rounded figure: a test may withhold this much more than its share spent
HOLDOUT_LIMIT = 3.0  # a holdout withholds at most this many times the most the channel ever spent in a period


def _check_held(path: Path, row: int, change: float, share: float, spend: np.ndarray, inside: np.ndarray) -> None:
    """MMMError unless the data can hold the test: they record the spend with it (`spend` per period, the test's
    periods `inside`), so without it the market spent the recorded spend - change (not below zero), and the tested
    share then spent its part of that plus the change (not below zero beyond SHARE_SLACK of the change: the model
    then takes the tested part to have spent nothing); and a holdout withheld no more per period than HOLDOUT_LIMIT
    times the most its share ever spent in one."""
    recorded = float(spend[inside].sum())
    most = share * float(spend.max())
    without = recorded - change
    if without < -1e-6 * max(abs(change), 1.0):
        raise MMMError(
            f"{path}, column 'spend_change': row {row} adds {change:,.2f} but the data record only {recorded:,.2f} of that "
            "channel's spend over the test in its geo(s). The file reads a test the data hold, as it ran: a holdout "
            "withheld spend (negative spend_change, negative lift), a scale-up added it (positive, positive). "
            "Check the sign, the dates and the geo"
        )
    if share * without + change < -SHARE_SLACK * abs(change):
        raise MMMError(
            f"{path}, column 'geo_share': row {row} withholds {-change:,.2f}, more than the {share:.0%} of the market it "
            f"covered spent without the test ({share * without:,.2f}); check the geo_share and the spend_change"
        )
    if change < 0 and -change / inside.sum() > HOLDOUT_LIMIT * most:
        raise MMMError(
            f"{path}, column 'spend_change': row {row} withholds {-change / inside.sum():,.2f} per period, more than "
            f"{HOLDOUT_LIMIT:g} times the most its market ever spent on that channel in one ({most:,.2f}). spend_change is "
            "the test's whole change in currency, over all its periods; check it and the dates"
        )


def _geos(path: Path, df: pd.DataFrame, data: ModelData) -> list[str | None]:
    """Each test's geo (None: the whole market) from the optional `geo` column; MMMError naming rows with a geo not in the data."""
    if "geo" not in df.columns:
        return [None] * len(df)
    named = [_geo_names(g) for g in df["geo"]]
    unknown = np.flatnonzero([any(x not in data.geos for x in names) for names in named]) + 1
    if len(unknown):
        names = ", ".join(sorted({f"'{x}'" for i in unknown for x in named[i - 1] if x not in data.geos}))
        if data.geos == [NATIONAL]:
            raise MMMError(
                f"{path}, column 'geo': {format_rows(unknown, verb='name')} regions ({names}), but the data are national (no "
                "data.geo_column). A national model reads a geo test as a share of the market: blank the geo cell and set "
                "geo_share to the treated regions' share of the market (`mmm analyze-test` prints it)"
            )
        known = f"the data's geos are {', '.join(data.geos)}"
        raise MMMError(
            f"{path}, column 'geo': unknown geo {names} in {format_rows(unknown)}; {known}. Use a geo of the data "
            f"(as written in its data.geo_column; several joined by '{GEO_SEPARATOR}'), or leave the cell blank for a test of the whole market"
        )
    return [GEO_SEPARATOR.join(names) if names else None for names in named]


def _geo_names(cell: Any) -> list[str]:
    """The geos one cell of the `geo` column names: blank for none, several joined by '|' or as a YAML list."""
    values = cell if isinstance(cell, list) else [] if pd.isna(cell) else str(cell).split(GEO_SEPARATOR)
    return [str(v).strip() for v in values if str(v).strip()]


def write_lifts(path: str | Path, tests: list[LiftTest]) -> Path:
    """Write tests as a lift-test CSV (the columns `read_lifts` reads), atomically: a reader never sees half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    columns = [*REQUIRED, "geo_share", *(["geo"] if any(t.geo for t in tests) else [])]
    pd.DataFrame([t.to_dict() for t in tests], columns=columns).to_csv(tmp, index=False)
    tmp.replace(path)
    return path
