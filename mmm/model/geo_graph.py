"""The PyMC geo-level model: one graph over (date, geo), vectorised over geos (structure: `mmm.model.geo`).

The ROAS prior of each channel (the config's `roas_prior`, or the default) is on its national
ROAS; each geo's ROAS is that times exp(`roas_geo_sd` x `roas_geo_z`), a non-centred partial pool
whose spread the data estimate. Each geo's intercept is parameterised, as in the national model,
as its average level less its media's average effect plus a free offset, which removes the ridge
between the intercept and the geo's ROAS.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt

from mmm.config.spec import Config
from mmm.data.lifts import LiftTest
from mmm.model.features import Scaling, baseline_level, mean_prediction, media_transform
from mmm.model.geo import GEO_SD_PRIORS, geo_coefficients, geo_components, geo_levels, geo_lift_predictions, spread
from mmm.model.graph import add_media_season, add_trend_bends, channel_priors, roas_prior_params
from mmm.model.lift_response import LiftRows, cell_lift_designs
from mmm.model.likelihood import observe, observe_lifts


def roas_to_coefficient(spend: np.ndarray, scaling: Scaling) -> np.ndarray:
    """(geo, channel): each geo's total spend on the channel over the training periods / the geo's target scale."""
    return spend.sum(axis=0) / np.asarray(scaling.geo_target)[:, None]


def build_geo_model(
    cfg: Config,
    feats: dict[str, np.ndarray],
    dates: pd.DatetimeIndex,
    target: np.ndarray,
    spend: np.ndarray,
    scaling: Scaling,
    channels: list[str],
    control_names: list[str],
    geos: list[str],
    lifts: list[LiftTest] | None = None,
) -> pm.Model:
    """The PyMC geo model for the training periods.

    target (time, geo) and spend (time, geo, channel) in currency; feats from `geo.geo_features`
    with the same Scaling (which carries each geo's scales). Each lift test adds an observation of
    the channel's incremental effect in the geos it treated (all of them for a test of the whole market).
    """
    spec = cfg.model
    media = media_transform(spec)
    n_geos = len(geos)
    roas_mu, roas_sigma = roas_prior_params(cfg, target.sum(axis=1), spend.sum(axis=1))
    target_scale = np.asarray(scaling.geo_target, dtype=float)
    coords = {
        "date": dates.values,
        "geo": geos,
        "channel": channels,
        "cell": [f"{g}/{c}" for g in geos for c in channels],
        "lag": np.arange(spec.l_max),
        "fourier": np.arange(feats["fourier"].shape[1]),
        "control": control_names,
    }
    with pm.Model(coords=coords) as model:
        lagged_spend = pm.Data("lagged_spend", feats["lagged"], dims=("date", "lag", "cell"))
        y = pm.Data("target_scaled", target / target_scale, dims=("date", "geo"))
        roas_to_coef = pm.Data("roas_to_coef", roas_to_coefficient(spend, scaling), dims=("geo", "channel"))
        data = {
            "lagged": lagged_spend,
            "time": pm.Data("time", feats["time"], dims="date"),
            "fourier": pm.Data("fourier_terms", feats["fourier"], dims=("date", "fourier")),
            "controls": pm.Data("controls_scaled", feats["controls"], dims=("date", "geo", "control")),
        }
        params = channel_priors(media, pm.Data("roas_mu", roas_mu), pm.Data("roas_sigma", roas_sigma))
        add_media_season(model, media, feats, data, params)
        params["roas_geo_sd"] = pm.HalfNormal("roas_geo_sd", sigma=GEO_SD_PRIORS["roas"], dims="channel")
        params["roas_geo_z"] = pm.Normal("roas_geo_z", mu=0.0, sigma=1.0, dims=("geo", "channel"))
        params["level_offset"] = pm.Normal("level_offset", mu=0.0, sigma=0.2)
        params["level_geo_sd"] = pm.HalfNormal("level_geo_sd", sigma=GEO_SD_PRIORS["level"])
        params["level_geo_z"] = pm.Normal("level_geo_z", mu=0.0, sigma=1.0, dims="geo")
        if spec.trend != "none":
            params["trend"] = pm.Normal("trend", mu=0.0, sigma=0.5)
            params["trend_geo_sd"] = pm.HalfNormal("trend_geo_sd", sigma=GEO_SD_PRIORS["trend"])
            params["trend_geo_z"] = pm.Normal("trend_geo_z", mu=0.0, sigma=1.0, dims="geo")
        if spec.trend == "flexible":  # the bends are shared by every geo
            add_trend_bends(model, feats, data, params)
        if feats["fourier"].shape[1]:  # a yearly and, for daily data, a weekly cycle
            params["season"] = pm.Normal("season", mu=0.0, sigma=0.25, dims="fourier")
            params["season_geo_sd"] = pm.HalfNormal("season_geo_sd", sigma=GEO_SD_PRIORS["season"])
            params["season_geo_z"] = pm.Normal("season_geo_z", mu=0.0, sigma=1.0, dims=("geo", "fourier"))
        if control_names:
            params["control_coef"] = pm.Normal("control_coef", mu=0.0, sigma=0.25, dims="control")
        params = spread(params | geo_levels(params, pt), media, n_geos, len(channels))
        params["channel_coef"] = geo_coefficients(params, lagged_spend, roas_to_coef, media, pt, n_geos, data.get("media_season"))
        if lifts:
            designs, owners = cell_lift_designs(
                lifts, dates, spend, geos, channels, np.asarray(scaling.geo_spend, dtype=float).reshape(-1), spec.l_max
            )
            geo_scale = pm.Data("lift_geo_scale", target_scale)
            rows = LiftRows.of(designs, owners, len(lifts)).as_data()
            predicted = geo_lift_predictions(params, rows, media, geo_scale, pt, data.get("media_season"))
            scale = float(target_scale.sum())  # the national scale: lifts are in currency over the treated geos
            observe_lifts(
                predicted / geo_scale.sum(),
                np.array([t.lift for t in lifts]) / scale,
                np.array([t.lift_se for t in lifts]) / scale,
            )
        params["intercept"] = baseline_level(params["level_geo"], params["roas_geo"], roas_to_coef, y.mean(axis=0), y.shape[0])
        mu = mean_prediction(geo_components(params, data, media, pt, n_geos))
        counts = pm.Data("target_counts", target, dims=("date", "geo")) if spec.likelihood == "negative_binomial" else None
        observe(spec.likelihood, mu, y, counts, target_scale, dims=("date", "geo"), noise_dims="geo")
    return model
