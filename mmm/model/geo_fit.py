"""The geo model's side of `MarketingMixModel`: its inputs, its derived per-geo parameters and its predictions by geo."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xarray as xr

from mmm.core.constants import CHANNEL, CONTROL, DATE, GEO, SAMPLE
from mmm.core.errors import MMMError
from mmm.data.dataset import ModelData
from mmm.data.lifts import LiftTest
from mmm.model.features import baseline_level, mean_prediction
from mmm.model.geo import geo_coefficients, geo_components, geo_features, geo_levels, geo_lift_predictions, spend_shares, spread
from mmm.model.geo_graph import build_geo_model, roas_to_coefficient
from mmm.model.lift_response import LiftRows, cell_lift_designs

if TYPE_CHECKING:
    import pymc as pm

    from mmm.model.estimator import MarketingMixModel

DERIVE_DRAWS = 250  # draws per chain handled at once when deriving per-geo coefficients after sampling
# Per-geo quantities derived after sampling (kept out of the sampler), with their dims after (chain, draw)
DERIVED_DIMS = {
    "roas_geo": (GEO, CHANNEL),
    "channel_coef": (GEO, CHANNEL),
    "intercept": (GEO,),
    "trend_geo": (GEO,),
    "season_geo": (GEO, "fourier"),
}


def train_features(model: MarketingMixModel, train: ModelData) -> dict[str, np.ndarray]:
    """Scaled inputs of the training periods, geo by geo."""
    return geo_features(model.scales, model.config.model, train.dates, _spend(train.spend, train.geos, train.channels), _controls(train))


def build(model: MarketingMixModel, train: ModelData, feats: dict[str, np.ndarray]) -> pm.Model:
    """The PyMC geo model of the training periods, calibrated by the model's lift tests."""
    return build_geo_model(
        model.config,
        feats,
        train.dates,
        train.target.transpose(DATE, GEO).values,
        _spend(train.spend, train.geos, train.channels),
        model.scales,
        train.channels,
        train.control_names,
        train.geos,
        model.lifts,
    )


def predict_lifts(model: MarketingMixModel, tests: list[LiftTest], params: dict[str, np.ndarray]) -> np.ndarray:
    """Draws (sample, test) of the lift each test should have measured in the geos it treated, currency."""
    train = model.train
    n_geos, n_channels = len(train.geos), len(train.channels)
    spend = _spend(train.spend, train.geos, train.channels)
    designs, owners = cell_lift_designs(
        tests,
        train.dates,
        spend,
        train.geos,
        train.channels,
        np.asarray(model.scales.geo_spend, dtype=float).reshape(-1),
        model.media.l_max,
    )
    basis = model.media.season.basis(train.dates) if model.media.season is not None else None
    spread_params = spread(params, model.media, n_geos, n_channels)
    rows = LiftRows.of(designs, owners, len(tests))
    return geo_lift_predictions(spread_params, rows, model.media, observation_scale(model), np, basis)


def add_derived(model: MarketingMixModel, feats: dict[str, np.ndarray], train: ModelData) -> None:
    """Store each draw's per-geo ROAS, media multipliers, intercepts, trend slopes and seasonality in the posterior."""
    assert model.idata is not None
    post = model.idata.posterior
    n_geos, n_channels = len(train.geos), len(train.channels)
    params = spread({k: post[k].values for k in post.data_vars}, model.media, n_geos, n_channels)
    for component in (model.media.adstock, model.media.saturation):
        component.check(params)
    params |= geo_levels(params, np)
    r2c = roas_to_coefficient(_spend(train.spend, train.geos, train.channels), model.scales)
    derived = {
        **{k: v for k, v in params.items() if k in ("roas_geo", "trend_geo", "season_geo")},
        "channel_coef": _by_draws(
            lambda part: geo_coefficients(part, feats["lagged"], r2c, model.media, np, n_geos, feats.get("media_season")), params
        ),
        "intercept": baseline_level(params["level_geo"], params["roas_geo"], r2c, _target_mean(model, train), train.n_periods),
    }
    for name, values in derived.items():
        post[name] = (("chain", "draw", *DERIVED_DIMS[name]), values)
    post.coords[GEO] = train.geos


def _by_draws(compute: Callable[[dict[str, np.ndarray]], np.ndarray], params: dict[str, np.ndarray]) -> np.ndarray:
    """compute(params) over (chain, draw, ...) arrays, DERIVE_DRAWS draws of each chain at a time: its (date x cell)
    intermediates then take the same memory however many draws the sampler kept."""
    n_draws = next(iter(params.values())).shape[1]
    parts = [compute({k: v[:, i : i + DERIVE_DRAWS] for k, v in params.items()}) for i in range(0, n_draws, DERIVE_DRAWS)]
    return np.concatenate(parts, axis=1)


def predict(
    model: MarketingMixModel,
    spend: xr.DataArray,
    controls: xr.DataArray,
    history: xr.DataArray | None,
    params: dict[str, np.ndarray],
) -> xr.Dataset:
    """Posterior draws of each component per geo (see `MarketingMixModel.predict_components`), currency.

    Spend or history without a geo dim (a national plan) is spread over the geos by their share of
    each channel's recent spend (`geo.spend_shares`); controls without one are the same in every geo.
    """
    data = model.observed
    geos, channels = data.geos, model.channels
    dates = pd.DatetimeIndex(spend[DATE].values)
    shares = geo_share_array(model)
    hist = None if history is None else _spend(history, geos, channels, shares)
    feats = geo_features(
        model.scales, model.config.model, dates, _spend(spend, geos, channels, shares), _controls_for(controls, data, len(dates)), hist
    )
    parts = geo_components(spread(params, model.media, len(geos), len(channels)), feats, model.media, np, len(geos))
    scale = np.asarray(model.scales.geo_target, dtype=float)
    coords = {SAMPLE: np.arange(next(iter(params.values())).shape[0]), DATE: dates.values, GEO: geos}
    out = xr.Dataset(coords=coords)
    for name, values in parts.items():
        if name == "media":
            out["media"] = xr.DataArray(values * scale[:, None], dims=(SAMPLE, DATE, GEO, CHANNEL), coords={**coords, CHANNEL: channels})
        else:
            out[name] = (SAMPLE, DATE, GEO), np.broadcast_to(values, (len(coords[SAMPLE]), len(dates), len(geos))) * scale
    out["mean"] = (SAMPLE, DATE, GEO), mean_prediction(parts) * scale
    return out


def geo_share_array(model: MarketingMixModel) -> xr.DataArray:
    """Each geo's share (geo, channel) of each channel's recent spend: how a national plan is spread over the geos."""
    data = model.observed
    return xr.DataArray(spend_shares(data), dims=(GEO, CHANNEL), coords={GEO: data.geos, CHANNEL: data.channels})


def _spend(spend: xr.DataArray, geos: list[str], channels: list[str], shares: xr.DataArray | None = None) -> np.ndarray:
    """(date, geo, channel) currency; spend without a geo dim is spread by `shares`."""
    if GEO not in spend.dims:
        if shares is None:
            raise MMMError("spend without geos given to a geo model")
        spend = spend * shares
    return np.asarray(spend.sel({GEO: geos, CHANNEL: channels}).transpose(DATE, GEO, CHANNEL).values, dtype=float)


def _target_mean(model: MarketingMixModel, train: ModelData) -> np.ndarray:
    """Each geo's mean outcome over the training periods on its own scale (geo,): 1 unless the scaling came from another fit."""
    return np.asarray(train.target.mean(DATE).sel({GEO: train.geos}).values, dtype=float) / observation_scale(model)


def _controls(data: ModelData) -> np.ndarray:
    return np.asarray(data.controls.transpose(DATE, GEO, CONTROL).values, dtype=float)


def _controls_for(controls: xr.DataArray, data: ModelData, periods: int) -> np.ndarray:
    """(date, geo, control) in the model's order; controls without a geo dim hold in every geo."""
    if GEO not in controls.dims:
        controls = controls.expand_dims({GEO: data.geos})
    values = controls.sel({CONTROL: data.control_names, GEO: data.geos}).transpose(DATE, GEO, CONTROL).values
    return np.asarray(values, dtype=float).reshape(periods, len(data.geos), -1)


def observation_scale(model: MarketingMixModel) -> Any:
    """The target scale the noise model multiplies by: each geo's (geo,) in a geo model."""
    return np.asarray(model.scales.geo_target, dtype=float)
