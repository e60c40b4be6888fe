"""Read spend-plan and bounds files (CSV or YAML) and check them against a model's channels.

Plan CSV: a `week` column (1, 2, ... with none missing) and one spend column per channel
(currency per period); optional columns named after the model's controls. For a geo model it may
also have a `geo` column: then each row is one region's spend in one week (every week and region once),
and the plan sets each region's spend instead of spreading channel totals by the regions' shares.
Plan YAML: {weeks: 13, spend: {channel: amount per week | [one amount per week]}, controls: {...}}.
Bounds CSV: header `channel,min,max` (weekly spend, currency; leave a cell empty for no bound), or
`channel,geo,min,max` where a row naming a geo limits the channel in that region (a geo model);
bounds YAML: {channel: {min: ..., max: ..., geos: {region: {min: ..., max: ...}}}}.
CSV files may use comma, semicolon or tab and either decimal mark (sniffed by `read_delimited`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from mmm.core.errors import MMMError
from mmm.data.dataset import format_rows
from mmm.data.reading import read_delimited

PLAN_KEYS = {"name", "weeks", "spend", "controls"}  # the keys of a plan YAML


@dataclass
class SpendPlan:
    """Spend per future period and channel (currency), in the model's channel order."""

    name: str
    spend: np.ndarray  # (period, channel), or (period, geo, channel) for a plan by region
    controls: np.ndarray | None  # (period, control), None: held at their recent mean

    @property
    def channel_spend(self) -> np.ndarray:
        """(period, channel) spend summed over the regions."""
        return self.spend.sum(axis=1) if self.spend.ndim == 3 else self.spend


def _read_any(path: Path) -> pd.DataFrame | dict:
    if not path.is_file():
        raise MMMError(f"{path}: file not found")
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            raw = yaml.safe_load(path.read_text())
        except yaml.YAMLError as exc:
            raise MMMError(f"{path}: not valid YAML: {exc}") from None
        if not isinstance(raw, dict):
            raise MMMError(f"{path}: expected a mapping at the top level")
        return raw
    try:
        return read_delimited(path).frame
    except MMMError:
        raise
    except Exception as exc:
        raise MMMError(f"{path}: cannot read the file as CSV: {exc}") from None


def _file_rows(values: pd.Series, where: np.ndarray) -> np.ndarray:
    """The file's data rows (1 for the first under the header) of `values` where the mask holds, in file order,
    whatever order the table was sorted or split into."""
    return np.sort(np.asarray(values.index, dtype=int)[where] + 1)


def _numeric(path: Path | str, column: str, values: pd.Series, allow_blank: bool = False) -> np.ndarray:
    out = pd.to_numeric(values, errors="coerce")
    bad = _file_rows(values, out.isna().to_numpy() & (values.notna().to_numpy() | (not allow_blank)))
    if len(bad):
        raise MMMError(f"{path}, column '{column}': {format_rows(bad)} must hold a number (currency per period)")
    neg = _file_rows(values, (out < 0).to_numpy())
    if len(neg):
        raise MMMError(f"{path}, column '{column}': negative spend in {format_rows(neg)}; spend must be 0 or more")
    return out.to_numpy(dtype=float)


def read_plan(
    path: str | Path, channels: list[str], control_names: list[str], name: str | None = None, geos: list[str] | None = None
) -> SpendPlan:
    """A validated spend plan; errors name the file, column and rows. geos: a geo model's regions (a CSV may plan each)."""
    path = Path(path)
    raw = _read_any(path)
    if isinstance(raw, dict):
        unknown_keys = sorted(set(map(str, raw)) - PLAN_KEYS)
        if unknown_keys:
            raise MMMError(
                f"{path}: unknown key(s) {', '.join(unknown_keys)}; a plan file has {', '.join(sorted(PLAN_KEYS))} (check the spelling)"
            )
        spend_map = raw.get("spend")
        weeks = raw.get("weeks")
        if not isinstance(spend_map, dict) or not spend_map:
            raise MMMError(f"{path}: needs a 'spend' mapping of channel -> weekly amount (or a list, one per week)")
        lengths = {len(v) for v in spend_map.values() if isinstance(v, list)}
        if weeks is None:
            weeks = lengths.pop() if len(lengths) == 1 else None
        if not isinstance(weeks, int) or weeks < 1:
            raise MMMError(f"{path}: set 'weeks' to the number of periods in the plan (a whole number, 1 or more)")
        frame = {}
        for ch, v in spend_map.items():
            values = v if isinstance(v, list) else [v] * weeks
            if len(values) != weeks:
                raise MMMError(f"{path}: spend.{ch} lists {len(values)} weeks but the plan has {weeks}; give one amount per week")
            frame[str(ch)] = values
        for ctrl, v in (raw.get("controls") or {}).items():
            frame[str(ctrl)] = v if isinstance(v, list) else [v] * weeks
        df = pd.DataFrame(frame)
        df.insert(0, "week", range(1, weeks + 1))
        name = name or raw.get("name")
    else:
        df = raw
    df = _with_indicators(df, control_names)
    if "geo" in df.columns:
        return _plan_by_region(df, channels, control_names, str(path), name or path.stem, geos)
    return plan_from_frame(df, channels, control_names, str(path), name or path.stem)


def _with_indicators(df: pd.DataFrame, control_names: list[str]) -> pd.DataFrame:
    """A categorical control planned as the data hold it (a text column `events` of 'na', 'event1', ...) turned into
    the model's indicator columns (`events=event1`, ...); a value of none of them is the control's reference level."""
    out = df
    for column in map(str, df.columns):
        levels = [n.split("=", 1)[1] for n in control_names if n.startswith(f"{column}=")]
        if not levels or column in control_names:
            continue
        values = df[column].astype(str).str.strip()
        out = out.drop(columns=column).assign(**{f"{column}={level}": (values == level).astype(float) for level in levels})
    return out


def _plan_by_region(
    df: pd.DataFrame, channels: list[str], control_names: list[str], label: str, name: str, geos: list[str] | None
) -> SpendPlan:
    """A plan with a `geo` column: one row per week and region; spend (period, geo, channel)."""
    if not geos or len(geos) < 2:
        raise MMMError(f"{label}, column 'geo': the model is national (fitted without data.geo_column); drop the column")
    regions = df["geo"].astype(str)
    unknown = sorted(set(regions) - set(geos))
    if unknown:
        rows = np.flatnonzero(regions.isin(unknown).to_numpy()) + 1
        raise MMMError(
            f"{label}, column 'geo': unknown region(s) {', '.join(unknown)} in {format_rows(rows)}; the model's regions are {', '.join(geos)}"
        )
    parts = [plan_from_frame(df[regions == g].drop(columns="geo"), channels, control_names, f"{label} (geo {g})") for g in geos]
    lengths = {len(p.spend) for p in parts}
    if len(lengths) > 1:
        counts = ", ".join(f"{g} {len(p.spend)}" for g, p in zip(geos, parts))
        raise MMMError(f"{label}: every region needs a row for every week of the plan, but they have {counts} weeks; add the missing rows")
    return SpendPlan(name, np.stack([p.spend for p in parts], axis=1), parts[0].controls)


def plan_from_frame(df: pd.DataFrame, channels: list[str], control_names: list[str], label: str, name: str | None = None) -> SpendPlan:
    """Check a plan table (week, one column per channel, optional controls); errors start with `label`."""
    if "week" not in df.columns:
        raise MMMError(f"{label}: needs a 'week' column numbering the plan's periods 1, 2, 3, ...")
    if df.empty:
        raise MMMError(f"{label}: the plan holds no weeks; add one row per week, numbered 1, 2, 3, ...")
    weeks_col = _week_numbers(label, df["week"])
    df = df.assign(week=weeks_col).sort_values("week")
    known = set(channels) | set(control_names) | {"week"}
    unknown = [c for c in df.columns if c not in known]
    if unknown:
        and_controls = f" and controls {', '.join(control_names)}" if control_names else ""
        raise MMMError(
            f"{label}: unknown column(s) {', '.join(map(str, unknown))}; a plan has a week column, the model's channels "
            f"{', '.join(channels)}{and_controls}"
        )
    absent = [c for c in channels if c not in df.columns]
    if absent:
        raise MMMError(f"{label}: no spend given for channel(s) {', '.join(absent)}; add a column for each (0 for no spend)")
    spend = np.column_stack([_numeric(label, c, df[c]) for c in channels])
    given = [c for c in control_names if c in df.columns]
    if given and len(given) < len(control_names):
        left = [c for c in control_names if c not in given]
        raise MMMError(
            f"{label}: plans control(s) {', '.join(given)} but not {', '.join(left)}; give a column for every control, "
            "or none to hold them all at their recent mean"
        )
    controls = np.column_stack([_control_values(label, c, df[c]) for c in control_names]) if given else None
    return SpendPlan(name or label, spend, controls)


def _week_numbers(label: str, column: pd.Series) -> pd.Series:
    """The plan's week numbers, checked to run 1, 2, 3, ... once each (in any row order)."""
    weeks = pd.to_numeric(column, errors="coerce")
    whole = weeks.notna().to_numpy() & (weeks.to_numpy(dtype=float) % 1 == 0)
    if not whole.all():
        examples = ", ".join(repr(str(v)) for v in column[~whole].iloc[:3])
        raise MMMError(
            f"{label}, column 'week': {format_rows(_file_rows(column, ~whole), verb='hold')} {examples}; number the weeks 1, 2, 3, ..."
        )
    repeated = weeks.duplicated(keep=False).to_numpy()
    if repeated.any():
        raise MMMError(
            f"{label}, column 'week': {format_rows(_file_rows(column, repeated), verb='repeat')} a week number; give each week one row"
        )
    missing = sorted(set(range(1, len(weeks) + 1)) - set(weeks.astype(int)))
    if missing:
        raise MMMError(
            f"{label}, column 'week': missing week(s) {', '.join(map(str, missing[:10]))}; number the weeks 1, 2, 3, ... with none left out"
        )
    return weeks


def _control_values(label: str, column: str, values: pd.Series) -> np.ndarray:
    """A control's planned values: numbers in every row (a control's unit: an index, a price, a 0/1 flag)."""
    out = pd.to_numeric(values, errors="coerce")
    bad = out.isna().to_numpy() | np.isinf(out.to_numpy(dtype=float))
    if bad.any():
        examples = ", ".join(repr(str(v)) for v in pd.unique(values[bad])[:3])
        rows = format_rows(_file_rows(values, bad), verb="hold")
        raise MMMError(f"{label}, column '{column}': {rows} {examples}; a control's planned value must be a number")
    return out.to_numpy(dtype=float)


Limits = tuple[float | None, float | None]  # (min, max) weekly spend, currency; None where not given


def _bounds_file(path: Path) -> tuple[dict[str, Limits], dict[str, dict[str, Limits]], dict[tuple[str, str], int]]:
    """(channel -> limits, channel -> region -> limits, (channel, region) -> its row (0 for YAML)) of a bounds file."""
    raw = _read_any(path)
    channels: dict[str, Limits] = {}
    regions: dict[str, dict[str, Limits]] = {}
    rows: dict[tuple[str, str], int] = {}

    def pair(where: str, b: object, keys: set[str]) -> Limits:
        if not isinstance(b, dict):
            raise MMMError(f"{path}: '{where}' must be a mapping with 'min' and/or 'max' (weekly spend)")
        if not set(b) <= keys:
            unknown = ", ".join(sorted(repr(str(k)) for k in set(b) - keys))
            raise MMMError(f"{path}, key '{where}': unknown key {unknown}; give 'min' and/or 'max' (weekly spend)")
        low, high = (None if b.get(k) is None else float(b[k]) for k in ("min", "max"))
        return _ordered(f"{path}, key '{where}'", (low, high))

    if isinstance(raw, dict):
        for ch, b in raw.items():
            channels[str(ch)] = pair(str(ch), b, {"min", "max", "geos"})
            for geo, gb in (b.get("geos") or {}).items():
                regions.setdefault(str(ch), {})[str(geo)] = pair(f"{ch}.geos.{geo}", gb, {"min", "max"})
                rows[(str(ch), str(geo))] = 0
        return channels, regions, rows
    if list(raw.columns) not in (["channel", "min", "max"], ["channel", "geo", "min", "max"]):
        raise MMMError(
            f"{path}: the header must be exactly channel,min,max (weekly spend in currency), or channel,geo,min,max to limit "
            "channels in named regions"
        )
    lows = _numeric(path, "min", raw["min"], allow_blank=True)
    highs = _numeric(path, "max", raw["max"], allow_blank=True)
    geos = raw["geo"] if "geo" in raw.columns else pd.Series([None] * len(raw))
    for row, (ch, geo, lo, hi) in enumerate(zip(raw["channel"], geos, lows, highs), start=1):
        limits = _ordered(f"{path}, row {row}", (None if np.isnan(lo) else float(lo), None if np.isnan(hi) else float(hi)))
        region = "" if geo is None or pd.isna(geo) else str(geo).strip()
        if (str(ch), region) in rows:
            raise MMMError(
                f"{path}, column 'channel': rows {rows[(str(ch), region)]} and {row} both limit {ch}"
                + (f" in {region}" if region else "")
                + "; keep one row per channel (and region)"
            )
        rows[(str(ch), region)] = row
        if not region:
            channels[str(ch)] = limits
        else:
            regions.setdefault(str(ch), {})[region] = limits
    return channels, regions, {key: row for key, row in rows.items() if key[1]}


def _ordered(where: str, limits: Limits) -> Limits:
    """`limits` when the min is not above the max; else an error at `where` (a file's row or key)."""
    low, high = limits
    if low is not None and high is not None and low > high:
        raise MMMError(f"{where}: min {low:,.2f} is above max {high:,.2f} (weekly spend); swap them or fix one")
    return limits


def read_bounds(path: str | Path) -> dict[str, Limits]:
    """channel -> (min, max) weekly spend in currency; None where no bound is given (rows naming a region left out)."""
    return _bounds_file(Path(path))[0]


def read_region_bounds(path: str | Path, channels: list[str], geos: list[str]) -> dict[str, dict[str, Limits]]:
    """channel -> region -> (min, max) weekly spend in currency from a bounds file's rows that name a region;
    errors name the file, the row and the unknown channel or region (or say the model has no regions)."""
    path = Path(path)
    _, regions, rows = _bounds_file(path)
    for (ch, geo), row in rows.items():
        where = f"{path}{f', row {row}' if row else ''}"
        if len(geos) < 2:
            raise MMMError(
                f"{where}: limits channel '{ch}' in region '{geo}', but the model is national (no data.geo_column); drop the region limits"
            )
        if ch not in channels:
            raise MMMError(f"{where}: unknown channel '{ch}'; the model's channels are {', '.join(channels)}")
        if geo not in geos:
            raise MMMError(f"{where}: no region named '{geo}'; the model's regions are {', '.join(geos)}")
    return regions
