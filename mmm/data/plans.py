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
from mmm.data.loading import read_delimited


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


def _numeric(path: Path | str, column: str, values: pd.Series, allow_blank: bool = False) -> np.ndarray:
    out = pd.to_numeric(values, errors="coerce")
    rows = np.asarray(values.index, dtype=int) + 1  # the file's data rows, whatever order the plan was sorted into
    bad = rows[np.flatnonzero(out.isna().to_numpy() & (values.notna().to_numpy() | (not allow_blank)))]
    if len(bad):
        raise MMMError(f"{path}, column '{column}': {format_rows(np.sort(bad))} must hold a number (currency per period)")
    neg = rows[np.flatnonzero((out < 0).to_numpy())]
    if len(neg):
        raise MMMError(f"{path}, column '{column}': negative spend in {format_rows(np.sort(neg))}; spend must be 0 or more")
    return out.to_numpy(dtype=float)


def read_plan(
    path: str | Path, channels: list[str], control_names: list[str], name: str | None = None, geos: list[str] | None = None
) -> SpendPlan:
    """A validated spend plan; errors name the file, column and rows. geos: a geo model's regions (a CSV may plan each)."""
    path = Path(path)
    raw = _read_any(path)
    if isinstance(raw, dict):
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
    if "geo" in df.columns:
        return _plan_by_region(df, channels, control_names, str(path), name or path.stem, geos)
    return plan_from_frame(df, channels, control_names, str(path), name or path.stem)


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
    weeks_col = pd.to_numeric(df["week"], errors="coerce")
    expected = np.arange(1, len(df) + 1)
    if weeks_col.isna().any() or not np.array_equal(np.sort(weeks_col.to_numpy()), expected):
        have = set(weeks_col.dropna().astype(int))
        missing = [int(w) for w in range(1, int(np.nanmax(weeks_col.to_numpy(dtype=float), initial=0)) + 1) if w not in have]
        detail = f"missing week(s) {', '.join(map(str, missing[:10]))}" if missing else "weeks must run 1, 2, 3, ... once each"
        raise MMMError(f"{label}, column 'week': {detail}; give every week of the plan a row")
    df = df.assign(week=weeks_col).sort_values("week")
    known = set(channels) | set(control_names) | {"week"}
    unknown = [c for c in df.columns if c not in known]
    if unknown:
        raise MMMError(f"{label}: unknown channel(s) {', '.join(map(str, unknown))}; the model's channels are {', '.join(channels)}")
    absent = [c for c in channels if c not in df.columns]
    if absent:
        raise MMMError(f"{label}: no spend given for channel(s) {', '.join(absent)}; add a column for each (0 for no spend)")
    spend = np.column_stack([_numeric(label, c, df[c]) for c in channels])
    controls = None
    if control_names and all(c in df.columns for c in control_names):
        controls = np.column_stack([pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=float) for c in control_names])
    return SpendPlan(name or label, spend, controls)


Limits = tuple[float | None, float | None]  # (min, max) weekly spend, currency; None where not given


def _bounds_file(path: Path) -> tuple[dict[str, Limits], dict[str, dict[str, Limits]], dict[tuple[str, str], int]]:
    """(channel -> limits, channel -> region -> limits, (channel, region) -> its row (0 for YAML)) of a bounds file."""
    raw = _read_any(path)
    channels: dict[str, Limits] = {}
    regions: dict[str, dict[str, Limits]] = {}
    rows: dict[tuple[str, str], int] = {}

    def pair(where: str, b: object, keys: set[str]) -> Limits:
        if not isinstance(b, dict) or not set(b) <= keys:
            raise MMMError(f"{path}: '{where}' must be a mapping with 'min' and/or 'max' (weekly spend)")
        low, high = (None if b.get(k) is None else float(b[k]) for k in ("min", "max"))
        return low, high

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
        limits = (None if np.isnan(lo) else float(lo), None if np.isnan(hi) else float(hi))
        if geo is None or pd.isna(geo) or str(geo).strip() == "":
            channels[str(ch)] = limits
        else:
            regions.setdefault(str(ch), {})[str(geo)] = limits
            rows[(str(ch), str(geo))] = row
    return channels, regions, rows


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
