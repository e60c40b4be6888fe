"""The predictive-checks chart: actual outcome against the prior and posterior predictive bands."""

from __future__ import annotations

from typing import Any

import pandas as pd

from mmm.report.chart_style import ACTUAL, PREDICTED, new_figure, to_png


def plot_checks(checks: dict[str, Any], currency: str) -> bytes:
    """PNG: actual target against the prior and posterior predictive 90% bands."""
    dates = pd.to_datetime(checks["dates"])
    fig = new_figure(10, 6.5)
    axes = fig.subplots(2, 1, sharex=True)
    for ax, key, title in zip(axes, ("prior", "posterior"), ("Before seeing the data (priors only)", "After fitting (posterior)")):
        c = checks[key]
        ax.fill_between(dates, c["band"]["low"], c["band"]["high"], color=PREDICTED, alpha=0.25, label="90% of simulated data")
        ax.plot(dates, c["band"]["median"], color=PREDICTED, lw=1, label="median simulated")
        ax.plot(dates, checks["actual"], color=ACTUAL, lw=1.2, label="actual")
        ax.set_title(f"{title}: {c['coverage']:.0%} of periods inside the band")
        ax.set_ylabel(currency)
        ax.grid(alpha=0.3)
    axes[0].legend(loc="upper left", fontsize=8)
    return to_png(fig)
