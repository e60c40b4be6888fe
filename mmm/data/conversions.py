"""Checks of a conversions KPI's data: whole counts, 0 or more, and the value per conversion when it is a column."""

from __future__ import annotations

import numpy as np

from mmm.config import Config
from mmm.config.value import ValueSpec
from mmm.data.dataset import format_rows

VALUE_ROLE = "data.value_per_conversion.column"


def count_problem(values: np.ndarray) -> str | None:
    """What is wrong with a column of conversion counts (1-based rows named), or None when every value is a whole number 0 or more."""
    negative = np.flatnonzero(values < 0) + 1
    if len(negative):
        return (
            f"conversions cannot be negative ({format_rows(negative)}: {', '.join(f'{values[r - 1]:g}' for r in negative[:3])}). "
            "Fix those rows (returns and cancellations belong in another column)"
        )
    fractional = np.flatnonzero(np.abs(values - np.round(values)) > 1e-9) + 1
    if len(fractional):
        return (
            f"conversions are counted in whole numbers ({format_rows(fractional)}: "
            f"{', '.join(np.format_float_positional(values[r - 1], trim='-') for r in fractional[:3])}). Give whole conversions "
            "per period (round modelled or fractional counts to whole numbers), or set data.kpi: revenue if the column is an amount of money"
        )
    return None


def value_column(cfg: Config) -> str | None:
    """The data column holding the value of a conversion per period, when `data.value_per_conversion` names one."""
    value = cfg.data.value_per_conversion
    return value.column if isinstance(value, ValueSpec) else None


def value_problem(values: np.ndarray) -> str | None:
    """What is wrong with a value-per-conversion column (currency per conversion per period), or None."""
    negative = np.flatnonzero(values < 0) + 1
    if len(negative):
        return f"the value of a conversion cannot be negative; fix {format_rows(negative)}"
    return None
