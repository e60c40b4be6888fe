"""Lift-test results (geo experiments, conversion-lift studies, holdouts) and what the model predicts for them.

File (CSV with comma, semicolon or tab and either decimal mark, as `read_delimited` sniffs it; or YAML as a
list of mappings with the same keys), one row per test:
channel, start, end (test dates, inside the data), spend_change (spend added in the treated
group over the whole test, currency; negative when spend was switched off), lift (measured
incremental revenue over the test and its carry-over, currency; same sign convention),
lift_se (its standard error, > 0), optional geo_share (share of the market the test covered,
0 < share <= 1; default 1).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from mmm.core.errors import MMMError
from mmm.data.dataset import ModelData, format_rows
from mmm.data.loading import read_delimited

REQUIRED = ("channel", "start", "end", "spend_change", "lift", "lift_se")


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
    for col in ("start", "end"):
        parsed = pd.to_datetime(df[col].astype(str), errors="coerce")
        bad = np.flatnonzero(parsed.isna().to_numpy()) + 1
        if len(bad):
            raise MMMError(f"{path}, column '{col}': cannot read dates in {format_rows(bad)}; use ISO dates like 2024-03-04")
        outside = np.flatnonzero(((parsed < dates[0]) | (parsed > dates[-1])).to_numpy()) + 1
        if len(outside):
            raise MMMError(
                f"{path}, column '{col}': {format_rows(outside)} fall outside the data ({dates[0].date()} to {dates[-1].date()}); "
                "a test can only calibrate periods the model is fitted on"
            )
        df[col] = parsed
    reversed_rows = np.flatnonzero((df["end"] < df["start"]).to_numpy()) + 1
    if len(reversed_rows):
        raise MMMError(f"{path}, column 'end': {format_rows(reversed_rows)} end before they start")
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
    for row, r in enumerate(df.itertuples(), start=1):
        inside = (dates >= r.start) & (dates <= r.end)
        if not inside.any():
            raise MMMError(f"{path}, columns 'start'/'end': row {row} covers no period of the data; widen the test dates")
        # in the tested geo, spend per period cannot fall below zero
        geo_spend = data.spend.sum("geo").sel(channel=r.channel).values[inside] * r.geo_share
        if r.spend_change < 0 and -r.spend_change / inside.sum() > geo_spend.min() + 1e-9:
            raise MMMError(
                f"{path}, column 'spend_change': row {row} removes {-r.spend_change:,.2f} but the channel spent only "
                f"{geo_spend.sum():,.2f} in that geo and period; check the sign and the geo_share"
            )
    return [
        LiftTest(
            str(r.channel),
            str(r.start.date()),
            str(r.end.date()),
            float(r.spend_change),
            float(r.lift),
            float(r.lift_se),
            float(r.geo_share),
        )
        for r in df.itertuples()
    ]
