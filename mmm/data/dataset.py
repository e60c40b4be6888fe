"""The validated inputs of one model as named dimensions: date, geo, channel, control.

A model fitted without a geo column has one geo, `national`; everything downstream selects
by dimension name, never by axis number.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import xarray as xr

from mmm.core.constants import CHANNEL, CONTROL, DATE, GEO, NATIONAL

MIN_PERIODS = 26
WARN_PERIODS = 52
PERIOD_DAYS = {"weekly": 7, "daily": 1}
PERIODS_PER_YEAR = {"weekly": 365.25 / 7, "daily": 365.25}
PERIOD_WORD = {"weekly": "week", "daily": "day"}  # one period of the data in words


def period_word(frequency: str) -> str:
    """The data's period in words: 'week', 'day' or 'period'."""
    return PERIOD_WORD.get(frequency, "period")


def format_rows(rows: Sequence[int] | np.ndarray, limit: int = 8, verb: str = "") -> str:
    """'rows 3, 7, 12 and 4 more' from 1-based row numbers, then `verb` agreeing with them ('row 4 holds', 'rows 4, 9 hold')."""
    numbers = [int(r) for r in rows]
    shown = ", ".join(str(r) for r in numbers[:limit])
    more = f" and {len(numbers) - limit} more" if len(numbers) > limit else ""
    agreed = f" {verb}s" if verb and len(numbers) == 1 else f" {verb}" if verb else ""
    return f"row{'s' if len(numbers) > 1 else ''} {shown}{more}{agreed}"


@dataclass(frozen=True)
class ModelData:
    """The inputs of one model, sorted by date.

    `inputs` holds target (date, geo) and spend (date, geo, channel) in currency per period,
    and controls (date, geo, control), numeric (text controls already expanded into 0/1
    indicators). `warnings` and `notes` say what the checks found and how each column was used.
    """

    inputs: xr.Dataset
    frequency: str
    source: str = ""
    warnings: tuple[str, ...] = field(default_factory=tuple)
    notes: tuple[str, ...] = field(default_factory=tuple)

    @classmethod
    def from_arrays(
        cls,
        dates: pd.DatetimeIndex,
        frequency: str,
        target: np.ndarray,
        spend: np.ndarray,
        channels: Sequence[str],
        controls: np.ndarray | None = None,
        control_names: Sequence[str] = (),
        source: str = "",
        warnings: Sequence[str] = (),
        notes: Sequence[str] = (),
        geo: str = NATIONAL,
        value: np.ndarray | None = None,
    ) -> ModelData:
        """National data from arrays: target (period,), spend (period, channel), controls (period, control);
        value (period,): currency per conversion, when the config takes it from a column."""
        n = len(dates)
        ctrl = np.zeros((n, 0)) if controls is None else np.asarray(controls, dtype=float).reshape(n, -1)
        return cls.from_panel(
            dates,
            frequency,
            [geo],
            np.asarray(target, dtype=float).reshape(n, 1),
            np.asarray(spend, dtype=float).reshape(n, 1, -1),
            channels,
            ctrl[:, None, :],
            control_names,
            source=source,
            warnings=warnings,
            notes=notes,
            value=None if value is None else np.asarray(value, dtype=float).reshape(n, 1),
        )

    @classmethod
    def from_panel(
        cls,
        dates: pd.DatetimeIndex,
        frequency: str,
        geos: Sequence[str],
        target: np.ndarray,
        spend: np.ndarray,
        channels: Sequence[str],
        controls: np.ndarray,
        control_names: Sequence[str] = (),
        source: str = "",
        warnings: Sequence[str] = (),
        notes: Sequence[str] = (),
        population: np.ndarray | None = None,
        value: np.ndarray | None = None,
    ) -> ModelData:
        """Data by geo from arrays: target (period, geo), spend (period, geo, channel), controls (period, geo, control),
        currency per period; population (geo,) people, when the data give it; value (period, geo) currency per conversion."""
        inputs = xr.Dataset(
            {
                "target": ((DATE, GEO), np.asarray(target, dtype=float)),
                "spend": ((DATE, GEO, CHANNEL), np.asarray(spend, dtype=float)),
                "controls": ((DATE, GEO, CONTROL), np.asarray(controls, dtype=float)),
            },
            coords={DATE: pd.DatetimeIndex(dates).values, GEO: list(geos), CHANNEL: list(channels), CONTROL: list(control_names)},
        )
        if value is not None:
            inputs["value"] = ((DATE, GEO), np.asarray(value, dtype=float))
        if population is not None:
            inputs["population"] = ((GEO,), np.asarray(population, dtype=float))
        return cls(inputs, frequency, source, tuple(warnings), tuple(notes))

    # ---- named views ----------------------------------------------------------------------
    @property
    def target(self) -> xr.DataArray:
        """The outcome per period and geo (date, geo), currency."""
        return self.inputs["target"]

    @property
    def spend(self) -> xr.DataArray:
        """Spend per period, geo and channel (date, geo, channel), currency."""
        return self.inputs["spend"]

    @property
    def value(self) -> xr.DataArray | None:
        """Currency per conversion in each period and geo (date, geo), when the config takes it from a column."""
        return self.inputs.get("value")

    @property
    def population(self) -> xr.DataArray | None:
        """People living in each geo (geo,), when the data file has a population column; None otherwise."""
        return self.inputs.get("population")

    @property
    def controls(self) -> xr.DataArray:
        """Control values per period and geo (date, geo, control)."""
        return self.inputs["controls"]

    @property
    def dates(self) -> pd.DatetimeIndex:
        return pd.DatetimeIndex(self.inputs[DATE].values)

    @property
    def channels(self) -> list[str]:
        return [str(c) for c in self.inputs[CHANNEL].values]

    @property
    def control_names(self) -> list[str]:
        return [str(c) for c in self.inputs[CONTROL].values]

    @property
    def geos(self) -> list[str]:
        return [str(g) for g in self.inputs[GEO].values]

    @property
    def n_periods(self) -> int:
        return self.inputs.sizes[DATE]

    def head(self, n: int) -> ModelData:
        """The first n periods (for a holdout or a cross-validation fold)."""
        return replace(self, inputs=self.inputs.isel({DATE: slice(0, n)}))

    def tail(self, n: int) -> ModelData:
        """The last n periods (the recent past a plan is compared with)."""
        return replace(self, inputs=self.inputs.isel({DATE: slice(self.n_periods - n, None)}))

    # ---- national totals as plain arrays, in dimension order, for the numerical core ------
    def target_series(self) -> np.ndarray:
        """Outcome summed over geos (date,)."""
        return self.target.sum(GEO).transpose(DATE).values

    def spend_matrix(self) -> np.ndarray:
        """Spend summed over geos (date, channel)."""
        return self.spend.sum(GEO).transpose(DATE, CHANNEL).values

    def control_matrix(self) -> np.ndarray:
        """Controls averaged over geos (date, control)."""
        return self.controls.mean(GEO).transpose(DATE, CONTROL).values

    def to_frame(self) -> pd.DataFrame:
        """The inputs as one table (date, target, one column per channel and control), national totals."""
        df = pd.DataFrame({"date": self.dates, "target": self.target_series()})
        for name, column in zip(self.channels, self.spend_matrix().T):
            df[f"spend:{name}"] = column
        for name, column in zip(self.control_names, self.control_matrix().T):
            df[f"control:{name}"] = column
        return df
