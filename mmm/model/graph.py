"""The PyMC marketing-mix model, declared from the typed spec.

Each channel's effect is parameterised by its ROAS over the training period, so a prior is
something a marketer can state ("search returns about 2 per unit spent"). The default ROAS
prior is the same for every channel, which makes each channel's prior contribution
proportional to its spend: a small channel is not handed a large share of revenue.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt

from mmm.config.spec import Config, ModelSpec
from mmm.data.lifts import LiftTest
from mmm.model.features import Scaling, baseline_level, channel_coefficients, components, mean_prediction, media_transform
from mmm.model.lift_response import LiftDesign, LiftRows, predicted_lifts
from mmm.model.likelihood import observe, observe_lifts
from mmm.transforms import MediaTransform

# Plain labels of the parameters every model has; transform components label their own.
BASE_LABELS = {
    "roas": "ROAS",
    "level_offset": "baseline level",
    "trend": "trend",
    "trend_change": "trend bend",
    "season": "seasonality",
    "control_coef": "other driver",
    "sigma": "noise",
    "nu": "outlier weight",
    "overdispersion": "extra scatter of counts",
    "media_season": "media seasonality",
    "roas_geo_sd": "ROAS spread across geos",
    "roas_geo_z": "geo ROAS deviation",
    "level_geo_sd": "level spread across geos",
    "level_geo_z": "geo level deviation",
    "trend_geo_sd": "trend spread across geos",
    "trend_geo_z": "geo trend deviation",
    "season_geo_sd": "seasonality spread across geos",
    "season_geo_z": "geo seasonality deviation",
}


def parameter_labels(media: MediaTransform) -> dict[str, str]:
    """Plain label of every sampled parameter, by posterior name."""
    return BASE_LABELS | {p.name: p.label for p in media.params}


def default_roas_prior(spec: ModelSpec, target_total: float, spend_total: float) -> tuple[float, float]:
    """(mu, sigma) of the LogNormal default ROAS prior.

    Its median is the ROAS every channel would have if all channels together drove
    `marketing_share_prior` of the target; sigma is wide (by default a factor of ~2.7 either way).
    """
    return float(np.log(spec.marketing_share_prior * target_total / spend_total)), spec.roas_prior_sigma


def roas_prior_params(cfg: Config, target: np.ndarray, spend: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel LogNormal (mu, sigma) of ROAS: the config's override where given, else the default."""
    mu0, sigma0 = default_roas_prior(cfg.model, float(target.sum()), float(spend.sum()))
    mus, sigmas = [], []
    for ch in cfg.channels:
        mu, sigma = ch.roas_prior.lognormal_params() if ch.roas_prior else (mu0, sigma0)
        mus.append(mu)
        sigmas.append(sigma)
    return np.array(mus), np.array(sigmas)


def channel_priors(media: MediaTransform, roas_mu: Any, roas_sigma: Any) -> dict[str, Any]:
    """Per-channel random variables (inside a model context): ROAS and each transform component's parameters."""
    p: dict[str, Any] = {"roas": pm.LogNormal("roas", mu=roas_mu, sigma=roas_sigma, dims="channel")}
    for param in media.params:
        p[param.name] = getattr(pm, param.prior.dist)(param.name, **param.prior.kwargs, dims="channel")
    return p


def add_media_season(
    model: pm.Model, media: MediaTransform, feats: dict[str, np.ndarray], data: dict[str, Any], params: dict[str, Any]
) -> None:
    """Under media seasonality (inside the model context): one yearly multiplier on every channel's effect, near 1 unless the data say otherwise."""
    if media.season is None:
        return
    model.add_coord("media_fourier", np.arange(media.season.size))
    data["media_season"] = pm.Data("media_season_terms", feats["media_season"], dims=("date", "media_fourier"))
    prior = media.season.param.prior
    params["media_season"] = getattr(pm, prior.dist)("media_season", **prior.kwargs, dims="media_fourier")


def add_trend_bends(model: pm.Model, feats: dict[str, np.ndarray], data: dict[str, Any], params: dict[str, Any]) -> None:
    """Under `trend: flexible` (inside the model context): the changepoints' hinges and their slope changes."""
    model.add_coord("changepoint", np.arange(feats["trend_hinges"].shape[1]))
    data["trend_hinges"] = pm.Data("trend_hinges", feats["trend_hinges"], dims=("date", "changepoint"))
    # sparse slope changes, standardised (non-centred): the formula scales them by TREND_CHANGE_SCALE
    params["trend_change"] = pm.Laplace("trend_change", mu=0.0, b=1.0, dims="changepoint")


def build_model(
    cfg: Config,
    feats: dict[str, np.ndarray],
    dates: pd.DatetimeIndex,
    target: np.ndarray,
    spend: np.ndarray,
    scaling: Scaling,
    channels: list[str],
    control_names: list[str],
    lifts: list[LiftTest] | None = None,
    designs: list[LiftDesign] | None = None,
) -> pm.Model:
    """The PyMC model for the training periods.

    target (time,) and spend (time, channel) are in currency; feats come from
    features.build_features with the same Scaling. Each lift test (with its design from
    lifts.lift_designs) adds an observation of the channel's incremental effect.
    """
    spec = cfg.model
    media = media_transform(spec)
    roas_mu, roas_sigma = roas_prior_params(cfg, target, spend)
    coords = {
        "date": dates.values,
        "channel": channels,
        "lag": np.arange(spec.l_max),
        "fourier": np.arange(feats["fourier"].shape[1]),
        "control": control_names,
    }
    with pm.Model(coords=coords) as model:
        # Inputs as pm.Data so the compiled sampler is reused across datasets of one shape.
        lagged_spend = pm.Data("lagged_spend", feats["lagged"], dims=("date", "lag", "channel"))
        y = pm.Data("target_scaled", target / scaling.target, dims="date")
        roas_to_coef = pm.Data("roas_to_coef", spend.sum(axis=0) / scaling.target, dims="channel")
        data = {
            "lagged": lagged_spend,
            "time": pm.Data("time", feats["time"], dims="date"),
            "fourier": pm.Data("fourier_terms", feats["fourier"], dims=("date", "fourier")),
            "controls": pm.Data("controls_scaled", feats["controls"], dims=("date", "control")),
        }
        params = channel_priors(media, pm.Data("roas_mu", roas_mu), pm.Data("roas_sigma", roas_sigma))
        add_media_season(model, media, feats, data, params)
        params["channel_coef"] = channel_coefficients(params, lagged_spend, roas_to_coef, media, pt, data.get("media_season"))
        level = pm.Normal("level_offset", mu=0.0, sigma=0.2)
        # derived again after sampling (estimator), so the compiled sampler stays small
        params["intercept"] = baseline_level(level, params["roas"], roas_to_coef, y.mean(), y.shape[0])
        if spec.trend != "none":
            params["trend"] = pm.Normal("trend", mu=0.0, sigma=0.5)
        if spec.trend == "flexible":
            add_trend_bends(model, feats, data, params)
        if feats["fourier"].shape[1]:  # a yearly and, for daily data, a weekly cycle
            params["season"] = pm.Normal("season", mu=0.0, sigma=0.25, dims="fourier")
        if control_names:
            params["control_coef"] = pm.Normal("control_coef", mu=0.0, sigma=0.25, dims="control")
        if lifts and designs:
            # lifts in target-scale units: the model's predicted lift vs the measured one and its error
            predicted = predicted_lifts(params, LiftRows.of(designs).as_data(), media, 1.0, pt, data.get("media_season"))
            observe_lifts(
                predicted, np.array([t.lift for t in lifts]) / scaling.target, np.array([t.lift_se for t in lifts]) / scaling.target
            )
        mu = mean_prediction(components(params, data, media, pt))
        counts = pm.Data("target_counts", target, dims="date") if spec.likelihood == "negative_binomial" else None
        observe(spec.likelihood, mu, y, counts, scaling.target)
    return model
