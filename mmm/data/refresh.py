"""Refreshed data: a fitted model's periods extended with the new ones of a newer file.

The newer file is either the full updated export (the earlier periods and the new ones) or
only the new periods. Either way the result is every earlier period followed, without a gap,
by the new ones, checked like any data file; every message names the newer file and numbers
rows as in it. Earlier periods whose values differ in the newer file are a warning (the
newer values are used); a file that leaves a gap after the earlier data or brings no period
after them is an error.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from mmm.config import Config
from mmm.core.errors import DataError
from mmm.data.dataset import PERIOD_DAYS, ModelData
from mmm.data.geo import refuse_geo
from mmm.data.loading import check_table, require_columns
from mmm.data.reading import read_dates, read_table

REVISION_TOLERANCE = 0.005  # half a cent: values that differ by less are the same figure written again


@dataclass(frozen=True)
class Refresh:
    """The data a refit runs on and what is new in it.

    data: every period (earlier and new), validated, its warnings including what changed in the
    earlier periods; added: periods after the earlier data's last one; first_added and
    last_added: their dates (ISO).
    """

    data: ModelData
    added: int
    first_added: str
    last_added: str


def refresh_data(cfg: Config, earlier: ModelData) -> Refresh:
    """`earlier` (the data a model was fitted on) extended with the new periods of cfg's data file.

    cfg is the fitted model's config with `data.path` naming the newer file; raises DataError
    naming that file (and its column and rows) when it cannot extend the earlier data.
    """
    refuse_geo(cfg, "refitting with new periods")
    path = cfg.data_path()
    df = read_table(path, "the newer data file (mmm refit --data, or data.path)")
    require_columns(cfg, df, path)
    column = cfg.data.date_column
    # a lenient read, only to place the file against the earlier data: check_table names unreadable dates
    dates = read_dates(df[column])
    if dates.notna().any():
        _check_reach(path, column, dates, earlier)
        # readable dates in one form, the earlier periods' one; unreadable ones stay as written for check_table to quote
        df = df.assign(**{column: dates.dt.strftime("%Y-%m-%d").where(dates.notna(), df[column])})
        # earlier periods the file does not repeat go after the file's rows, so messages keep the file's row numbers
        before = int((earlier.dates < dates.min()).sum())
        if before:
            df = pd.concat([df, _as_table(cfg, earlier.head(before), path)], ignore_index=True)
    data = check_table(cfg, df, path)
    if data.frequency != earlier.frequency:
        raise DataError(f"{path}: the file holds {data.frequency} data, but the model was fitted on {earlier.frequency} data")
    if data.control_names != earlier.control_names:
        raise DataError(
            f"{path}: the controls encode as {', '.join(data.control_names) or 'none'}, but the model was fitted on "
            f"{', '.join(earlier.control_names) or 'none'}: a text control's categories changed; fit the model again with `mmm fit`"
        )
    new = data.dates[data.dates > earlier.dates[-1]]
    warnings = _revisions(cfg, earlier, data)
    history = int((data.dates < earlier.dates[0]).sum())
    if history:
        warnings.append(f"{path}: {history} periods before the model's first one ({earlier.dates[0].date()}) are fitted too")
    return Refresh(
        data=replace(data, warnings=data.warnings + tuple(warnings)),
        added=len(new),
        first_added=str(new[0].date()),
        last_added=str(new[-1].date()),
    )


def _check_reach(path: Path, column: str, dates: pd.Series, earlier: ModelData) -> None:
    """DataError unless the file's periods run past the earlier data's last one and start no later than the next."""
    last = earlier.dates[-1]
    step = pd.Timedelta(days=PERIOD_DAYS[earlier.frequency])
    first, final = dates.min(), dates.max()
    if final <= last:
        raise DataError(
            f"{path}, column '{column}': the file ends on {final.date()}, {'on' if final == last else 'before'} the last period "
            f"the model was fitted on ({last.date()}); a refresh needs the periods after it"
        )
    if first > last + step:
        missing = int((first - last) / step) - 1
        row = int(np.flatnonzero((dates == first).to_numpy())[0]) + 1
        raise DataError(
            f"{path}, column '{column}': the file starts on {first.date()} (row {row}), but the model's data end on "
            f"{last.date()}: {missing} {earlier.frequency} period(s) in between are missing; add them (0 spend where there "
            "was none) or give the full export"
        )


def _as_table(cfg: Config, part: ModelData, path: Path) -> pd.DataFrame:
    """Earlier periods as rows of the config's columns, to be checked together with the newer file's rows."""
    text = [c for c in cfg.controls if c not in part.control_names]
    if text:
        raise DataError(
            f"{path}: the control(s) {', '.join(text)} hold text categories, which the model keeps only as indicators; "
            f"give the full export from {part.dates[0].date()} so they are encoded as before"
        )
    table = pd.DataFrame({cfg.data.date_column: part.dates.strftime("%Y-%m-%d"), cfg.data.target_column: part.target_series()})
    spend = dict(zip(part.channels, part.spend_matrix().T))
    for ch in cfg.channels:
        table[ch.spend_column] = spend[ch.name]
    for name, values in zip(part.control_names, part.control_matrix().T):
        table[name] = values
    return table


def _revisions(cfg: Config, earlier: ModelData, data: ModelData) -> list[str]:
    """A warning when the newer file changes figures of periods the model was fitted on (columns and counts)."""
    common = earlier.dates.intersection(data.dates)
    if common.empty:
        return []
    old, new = earlier.to_frame().set_index("date").loc[common], data.to_frame().set_index("date").loc[common]
    changed = ~np.isclose(old.to_numpy(), new.to_numpy(), rtol=0.0, atol=REVISION_TOLERANCE)
    if not changed.any():
        return []
    spend_columns = {c.name: c.spend_column for c in cfg.channels}
    columns = [cfg.data.target_column, *(spend_columns[ch] for ch in earlier.channels), *earlier.control_names]  # to_frame's order
    counts = ", ".join(f"{name} in {n}" for name, n in zip(columns, changed.sum(axis=0)) if n)
    rows = changed.any(axis=1)
    first = common[np.flatnonzero(rows)[0]].date()
    return [
        f"{cfg.data_path()}: {int(rows.sum())} earlier period(s) differ from the data the model was fitted on ({counts}; the first on "
        f"{first}); the refit uses the new figures"
    ]
