"""Constants shared across stages: one home, so the table, JSON, report and MLflow agree."""

from __future__ import annotations

from typing import Literal

Tier = Literal["proven", "test", "experimental"]
TIERS: tuple[Tier, ...] = ("proven", "test", "experimental")
TIER_COLORS: dict[str, str] = {"proven": "#1b7837", "test": "#d9730d", "experimental": "#7b3294"}
DEFAULT_POLICY = "70/20/10"

DEFAULT_MAX_FACTOR = 1.5  # no channel beyond 1.5x the highest weekly spend it ever had (the curve is unmeasured beyond)

# Per-channel quantities of a fit, each reported as mean and 90% interval (JSON, table, MLflow, report).
CHANNEL_METRICS: tuple[str, ...] = ("roas", "roi", "contribution", "contribution_share", "mroas")
# ... and those of a count outcome (conversions), where they apply: cost per conversion and the value's money ROAS
CONVERSION_METRICS: tuple[str, ...] = ("cpa", "marginal_cpa", "cac", "value_roas")
# ... of which the costs per conversion: their draws have a long upper tail, so they carry a median, the headline figure
COST_RATIO_METRICS: tuple[str, ...] = ("cpa", "marginal_cpa", "cac")
INTERVAL_STATS: tuple[str, ...] = ("mean", "low", "high")

# Named dimensions, one name each everywhere (data, posterior, analysis, planning).
DATE, GEO, CHANNEL, CONTROL, SAMPLE, LAG = "date", "geo", "channel", "control", "sample", "lag"
NATIONAL = "national"  # the one geo of a model fitted without a geo column

RHAT_MAX = 1.01
ESS_MIN = 400
ANALYSIS_DRAWS = 2000  # posterior draws the analysis reads at most (evenly thinned beyond: `MarketingMixModel.draws`)
WEEK_ORDER = 3  # harmonics of the 7-day cycle in daily data (model.weekday): 6 terms, as many as a free effect per weekday has
