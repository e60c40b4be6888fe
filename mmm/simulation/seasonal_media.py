"""The true media effectiveness of a simulated business whose media works better in some seasons.

log effectiveness = amplitude x cos(2 pi (day - peak day) / 365.25), made with the very component
the model fits (`mmm.transforms.MediaSeasonality`, its first Fourier order), so 1 is an average
week of the year and the model can recover the truth exactly in form.
"""

from __future__ import annotations

import calendar

import numpy as np
import pandas as pd

from mmm.transforms import MediaSeasonality
from mmm.transforms.seasonal import DAYS_PER_YEAR

TRUE_SEASON = MediaSeasonality()


def _coefficients(amplitude: float, peak_day: int) -> dict[str, np.ndarray]:
    """The component's coefficients for amplitude x cos(phase - peak phase): sin and cos of the first order only."""
    peak = 2 * np.pi * (peak_day - 1) / DAYS_PER_YEAR  # the basis' phase is days since 1970-01-01 over a year
    coef = np.zeros(TRUE_SEASON.size)
    coef[:2] = amplitude * np.sin(peak), amplitude * np.cos(peak)
    return {"media_season": coef}


def true_effectiveness(amplitude: float, peak_day: int, dates: pd.DatetimeIndex) -> np.ndarray:
    """(date,) how well media works at each date against an average week of the year (1 = average)."""
    return np.asarray(TRUE_SEASON.multiplier(TRUE_SEASON.basis(dates), _coefficients(amplitude, peak_day), np))


def effectiveness_by_month(amplitude: float, peak_day: int, year: int) -> dict[str, float]:
    """Calendar month name -> the true effectiveness averaged over that month's days in `year`."""
    days = pd.date_range(f"{year}-01-01", f"{year}-12-31", freq="D")
    daily = true_effectiveness(amplitude, peak_day, days)
    return {calendar.month_name[k]: float(daily[np.asarray(days.month == k)].mean()) for k in range(1, 13)}
