"""Model inputs on a stable scale, and the one formula that turns parameters into predictions.

`Scaling` is fixed on the training data and then reused unchanged for any other period
(holdout, forecast), so the same spend always means the same thing to the model.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from mmm.config.spec import ModelSpec
from mmm.core.constants import CHANNEL, DATE, GEO, WEEK_ORDER
from mmm.data.dataset import PERIOD_DAYS, PERIODS_PER_YEAR, ModelData
from mmm.transforms import MediaTransform, lagged

TREND_CHANGEPOINT_SPAN = 0.85  # share of the training periods, from the first, over which changepoints are spread
TREND_CHANGE_SCALE = 0.05  # prior scale of each slope change (target's scale per unit of trend time): near-linear unless the data bend


@dataclass
class Scaling:
    """Divisors and offsets that bring the inputs near 1.

    target: mean of the target (currency per period); spend: each channel's mean spend over
    the periods it was on (currency per period); controls are standardised.
    """

    target: float
    spend: list[float]
    control_mean: list[float]
    control_sd: list[float]
    first_date: str
    frequency: str
    n_train: int
    geo_target: list[float] | None = None  # geo model only: each geo's mean outcome per period (geo,)
    geo_spend: list[list[float]] | None = None  # geo model only: each geo's typical spend per channel (geo, channel)

    @classmethod
    def from_data(cls, data: ModelData) -> Scaling:
        spend = data.spend_matrix()  # (date, channel)
        controls = data.control_matrix()
        sd = controls.std(axis=0) if controls.size else np.zeros(0)
        return cls(
            target=float(np.mean(data.target_series())),
            spend=[float(col[col > 0].mean()) for col in spend.T],
            control_mean=controls.mean(axis=0).tolist() if controls.size else [],
            control_sd=np.where(sd > 0, sd, 1.0).tolist(),
            first_date=str(data.dates[0].date()),
            frequency=data.frequency,
            n_train=data.n_periods,
        )

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}  # a national model's file carries no geo scales


def fourier(dates: pd.DatetimeIndex, order: int, frequency: str, weekday: bool = False) -> np.ndarray:
    """Seasonality basis (date, term): sin and cos of k * 2 pi * (day / 365.25) for k = 1..order (the year), then, for
    daily data with `weekday`, of k * 2 pi * (day / 7) for k = 1..WEEK_ORDER, which together take any day-of-week pattern."""
    days = (dates - pd.Timestamp("1970-01-01")).days.to_numpy(dtype=float)
    cycles = [(PERIODS_PER_YEAR[frequency] * PERIOD_DAYS[frequency], order)]
    if weekday and frequency == "daily":
        cycles.append((7.0, WEEK_ORDER))
    terms = [f(2 * np.pi * k * days / length) for length, top in cycles for k in range(1, top + 1) for f in (np.sin, np.cos)]
    return np.column_stack(terms) if terms else np.zeros((len(dates), 0))


def _scaled_time(steps: np.ndarray, n_train: int) -> np.ndarray:
    """Periods since the first training period -> trend time: -0.5 at the first training period, 0.5 at the last."""
    return steps / max(n_train - 1, 1) - 0.5


def trend_changepoints(n_train: int, spec: ModelSpec) -> np.ndarray:
    """Positions of the flexible trend's changepoints on the trend-time axis (empty for the other trends).

    ModelSpec.changepoints(n_train) of them (one per 13 fitted periods, 2 to 12), evenly spaced over
    the first TREND_CHANGEPOINT_SPAN of the fitted periods, the last at its end: a bend in the final
    periods is left to the base slope, as too few periods follow it to tell it from noise.
    """
    k = spec.changepoints(n_train)
    return -0.5 + TREND_CHANGEPOINT_SPAN * np.arange(1, k + 1) / max(k, 1)


def trend_hinges(time: np.ndarray, n_train: int, spec: ModelSpec) -> np.ndarray:
    """The flexible trend's basis (time, changepoint): max(0, time - c) per changepoint c, less its training mean.

    A slope change at c multiplies its hinge, so the trend is continuous and piecewise linear.
    Each hinge is centred over the training periods, like trend time, so the intercept stays the
    average level. After the data every hinge keeps rising: a forecast continues the trend with
    its last slope. Zero columns unless the trend is flexible.
    """
    changepoints = trend_changepoints(n_train, spec)
    fitted = _scaled_time(np.arange(n_train, dtype=float), n_train)
    return np.maximum(time[:, None] - changepoints, 0.0) - np.maximum(fitted[:, None] - changepoints, 0.0).mean(axis=0)


def build_features(
    scaling: Scaling,
    spec: ModelSpec,
    dates: pd.DatetimeIndex,
    spend: np.ndarray,
    controls: np.ndarray,
    history: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Scaled model inputs for the given periods.

    spend: (time, channel) in currency; history: spend in the periods just before `dates`
    (carry-in for a forecast). Trend time runs from -0.5 at the first training period to 0.5
    at the last: centred, so the intercept is the average level and the two do not trade off.
    `trend_hinges` (time, changepoint) is the flexible trend's basis (see trend_hinges);
    `media_season` (time, term), only under `media_seasonality`, the media multiplier's basis.
    """
    sp = np.asarray(spend, dtype=float) / np.asarray(scaling.spend)
    hist = None if history is None else np.asarray(history, dtype=float) / np.asarray(scaling.spend)
    steps = (dates - pd.Timestamp(scaling.first_date)).days.to_numpy(dtype=float) / PERIOD_DAYS[scaling.frequency]
    ctrl = (np.asarray(controls, dtype=float).reshape(len(dates), -1) - np.asarray(scaling.control_mean)) / np.asarray(scaling.control_sd)
    time = _scaled_time(steps, scaling.n_train)
    feats = {
        "lagged": lagged(sp, spec.l_max, hist),
        "time": time,
        "trend_hinges": trend_hinges(time, scaling.n_train, spec),
        "fourier": fourier(dates, spec.seasonality_order, scaling.frequency, spec.weekday),
        "controls": ctrl,
    }
    season = media_transform(spec).season
    if season is not None:
        feats["media_season"] = season.basis(dates)
    return feats


def media_transform(spec: ModelSpec) -> MediaTransform:
    """The configured adstock and saturation components (under 'auto', the first candidate until a fit chooses)."""
    return MediaTransform.from_options(spec.forms()[0])


def channel_coefficients(
    params: dict[str, Any], train_lagged: Any, roas_to_coef: Any, media: MediaTransform, xp: Any, season_basis: Any = None
) -> Any:
    """Per-channel multipliers (..., channel) that turn saturated media into target units.

    Solved from ROAS over the training periods: ROAS = coef * sum_t saturated * target
    scale / total spend, so roas_to_coef is total spend / target scale. Under media
    seasonality (season_basis: the training periods' basis) each period's saturated media
    counts times that period's multiplier, so ROAS keeps its meaning.
    """
    saturated = media.response(train_lagged, params, xp)
    multiplier = media_multiplier(params, season_basis, media, xp)
    if multiplier is not None:
        saturated = saturated * multiplier[..., :, None]
    return params["roas"] * roas_to_coef / saturated.sum(axis=-2)


def media_multiplier(params: dict[str, Any], season_basis: Any, media: MediaTransform, xp: Any) -> Any:
    """The media effectiveness multiplier (..., time) at the basis' periods; None when the model has none."""
    if media.season is None or season_basis is None:
        return None
    return media.season.multiplier(season_basis, params, xp)


def baseline_level(level_offset: Any, roas: Any, roas_to_coef: Any, target_mean: Any, periods: Any) -> Any:
    """The intercept (target scale): the average level left after the media's average effect, plus a free offset.

    `periods` is the number of training periods (in the model, the data's length, so it stays an input).

    With trend, seasonality and controls centred, parameterising the intercept this way removes
    the ridge between it and every ROAS that otherwise slows the sampler several-fold.
    """
    return target_mean - (roas * roas_to_coef).sum(axis=-1) / periods + level_offset


def components(params: dict[str, Any], feats: dict[str, Any], media_tf: MediaTransform, xp: Any) -> dict[str, Any]:
    """Each part of the prediction on the target's scale (multiply by Scaling.target for currency).

    Parameters may carry a leading draw axis; `channel_coef` turns saturated media into
    target units. The trend is `trend` (slope before the first changepoint, target's scale per unit of
    trend time) times time, plus, when flexible, TREND_CHANGE_SCALE x `trend_change` (standardised
    slope changes) times the hinges. Under media seasonality, media is scaled by each period's
    multiplier (`media_multiplier`). Returns baseline, trend, seasonality, controls (..., time) and
    media (..., time, channel).
    """
    media = media_tf.response(feats["lagged"], params, xp)
    multiplier = media_multiplier(params, feats.get("media_season"), media_tf, xp)
    if multiplier is not None:  # under media seasonality: the effect scaled by the period's effectiveness
        media = media * multiplier[..., :, None]
    out = {
        "baseline": params["intercept"][..., None] * xp.ones_like(feats["time"]),
        "media": params["channel_coef"][..., None, :] * media,
    }
    # a part the spec switches off has no parameter and contributes zero
    if "trend" in params:
        out["trend"] = params["trend"][..., None] * feats["time"]
        if "trend_change" in params:  # flexible: standardised slope changes at the changepoints (non-centred)
            bends = TREND_CHANGE_SCALE * params["trend_change"][..., None, :] * feats["trend_hinges"]
            out["trend"] = out["trend"] + bends.sum(axis=-1)
    else:
        out["trend"] = 0 * out["baseline"]
    if "season" in params:
        out["seasonality"] = (params["season"][..., None, :] * feats["fourier"]).sum(axis=-1)
    else:
        out["seasonality"] = 0 * out["baseline"]
    if "control_coef" in params:
        out["controls"] = (params["control_coef"][..., None, :] * feats["controls"]).sum(axis=-1)
    else:
        out["controls"] = 0 * out["baseline"]
    return out


def mean_prediction(parts: dict[str, Any]) -> Any:
    """Sum of the components: the expected target (..., time) on the target's scale."""
    return parts["baseline"] + parts["trend"] + parts["seasonality"] + parts["controls"] + parts["media"].sum(axis=-1)


def channel_matrix(spend: xr.DataArray, channels: list[str]) -> np.ndarray:
    """(date, channel) values in the model's channel order; a geo dim is summed."""
    if GEO in spend.dims:
        spend = spend.sum(GEO)
    return np.asarray(spend.sel({CHANNEL: channels}).transpose(DATE, CHANNEL).values, dtype=float)


def controls_matrix(controls: xr.DataArray, data: ModelData, periods: int) -> np.ndarray:
    """(date, control) values in the model's control order; a geo dim is averaged."""
    if GEO in controls.dims:
        controls = controls.mean(GEO)
    return np.asarray(controls.sel({"control": data.control_names}).transpose(DATE, "control").values, dtype=float).reshape(periods, -1)
