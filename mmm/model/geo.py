"""The geo-level model's formulas: many regions in one model, shared by the PyMC graph, the analysis and the optimiser.

Structure (a model is a geo model when its data have more than one geo):

- each geo is modelled on its own scale: its outcome divided by its mean outcome per period, its
  spend on each channel divided by that geo's typical spend on the channel, so regions whose sizes
  differ 50x have parameters of the same size;
- baselines per geo, partially pooled (non-centred): each geo's level offset, trend slope and
  seasonality are the national value plus a geo deviation `<name>_geo_sd x <name>_geo_z`;
- channel effects per geo, partially pooled (non-centred): a geo's ROAS is the national ROAS times
  exp(`roas_geo_sd` x `roas_geo_z`); the ROAS prior (the config's `roas_prior`) is on the national ROAS;
- shared across geos: adstock and saturation (the saturation in units of each geo's typical spend,
  so the curve bends at the same multiple of usual spend everywhere), control effects, the flexible
  trend's bends and media seasonality; the noise scale is per geo.

Geo x channel pairs are laid out as flat "cells" (geo-major: geo 0's channels, then geo 1's), so the
media transforms run on every cell at once with their per-channel parameters repeated for each geo:
no loop over geos anywhere.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from mmm.config.spec import ModelSpec
from mmm.core.constants import CHANNEL, CONTROL, DATE, GEO
from mmm.data.dataset import ModelData
from mmm.model.features import TREND_CHANGE_SCALE, Scaling, build_features, media_multiplier
from mmm.model.lift_response import LiftRows, predicted_lifts
from mmm.transforms import MediaTransform

SHARE_PERIODS = 13  # a plan's spend is split to geos by their share of each channel's spend over the last quarter
ZERO_SPEND_FLOOR = 1e-12  # a geo that never bought a channel has no effect from it (0 / floor, not 0 / 0)

# Pooled baseline parts: (national parameter, prior sd of the geo deviation on the geo's own scale)
GEO_SD_PRIORS = {"roas": 0.3, "level": 0.1, "trend": 0.25, "season": 0.1}


def is_geo(scaling: Scaling) -> bool:
    """Whether a model with this scaling is a geo model (fitted on more than one geo)."""
    return scaling.geo_target is not None


def geo_scaling(data: ModelData) -> Scaling:
    """The national scaling plus each geo's scales: mean outcome per period (geo,) and typical
    spend per channel (geo, channel; mean over the periods with spend, 1 where the geo never bought it).
    Controls are standardised over every (date, geo) value."""
    national = Scaling.from_data(data)
    spend = data.spend.transpose(DATE, GEO, CHANNEL).values
    on = spend > 0
    typical = np.where(on.any(axis=0), (spend * on).sum(axis=0) / np.maximum(on.sum(axis=0), 1), 1.0)
    controls = data.controls.transpose(DATE, GEO, CONTROL).values.reshape(data.n_periods * len(data.geos), len(data.control_names))
    sd = controls.std(axis=0) if controls.size else np.zeros(0)
    return replace(
        national,
        geo_target=data.target.mean(DATE).sel({GEO: data.geos}).values.tolist(),
        geo_spend=typical.tolist(),
        control_mean=controls.mean(axis=0).tolist() if controls.size else [],
        control_sd=np.where(sd > 0, sd, 1.0).tolist(),
    )


def geo_features(
    scaling: Scaling,
    spec: ModelSpec,
    dates: pd.DatetimeIndex,
    spend: np.ndarray,
    controls: np.ndarray,
    history: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Scaled inputs of a geo model: spend (time, geo, channel) and history (periods before, geo, channel)
    in currency; controls (time, geo, control). `lagged` is (time, lag, cell); `controls` (time, geo,
    control); time, trend hinges, Fourier terms and media seasonality are shared by every geo."""
    n, g, c = spend.shape
    k = controls.shape[-1]
    flat = replace(
        scaling,
        spend=np.asarray(scaling.geo_spend, dtype=float).reshape(-1).tolist(),
        control_mean=np.tile(scaling.control_mean, g).tolist(),
        control_sd=np.tile(scaling.control_sd, g).tolist(),
    )
    hist = None if history is None else np.asarray(history, dtype=float).reshape(-1, g * c)
    feats = build_features(flat, spec, dates, spend.reshape(n, g * c), np.asarray(controls).reshape(n, g * k), hist)
    feats["controls"] = feats["controls"].reshape(n, g, k)
    return feats


def cells(x: Any) -> Any:
    """(..., geo, channel) -> (..., cell), geo-major."""
    if x.ndim == 2:
        return x.flatten()
    return x.reshape((*tuple(x.shape[:-2]), -1))


def split_cells(x: Any, n_geos: int, xp: Any) -> Any:
    """(..., cell) -> (..., geo, channel)."""
    if xp is np:
        return x.reshape((*tuple(x.shape[:-1]), n_geos, -1))
    return x.reshape((n_geos, -1)) if x.ndim == 1 else x.reshape((x.shape[0], n_geos, -1))


def spread(params: dict[str, Any], media: MediaTransform, n_geos: int, n_channels: int) -> dict[str, Any]:
    """The parameters with each shared per-channel transform parameter (..., channel) repeated for every geo (..., cell)."""
    index = np.tile(np.arange(n_channels), n_geos)
    return params | {p.name: params[p.name][..., index] for p in media.params}


def geo_levels(params: dict[str, Any], xp: Any) -> dict[str, Any]:
    """Each geo's ROAS (..., geo, channel), level offset (..., geo), trend slope (..., geo) and
    seasonality (..., geo, fourier) from the national values and the standardised geo deviations."""
    out = {
        "roas_geo": params["roas"][..., None, :] * xp.exp(params["roas_geo_sd"][..., None, :] * params["roas_geo_z"]),
        "level_geo": params["level_offset"][..., None] + params["level_geo_sd"][..., None] * params["level_geo_z"],
    }
    if "trend_geo_z" in params:
        out["trend_geo"] = params["trend"][..., None] + params["trend_geo_sd"][..., None] * params["trend_geo_z"]
    if "season_geo_z" in params:
        out["season_geo"] = params["season"][..., None, :] + params["season_geo_sd"][..., None, None] * params["season_geo_z"]
    return out


def cell_response(lagged: Any, params: dict[str, Any], media: MediaTransform, xp: Any) -> Any:
    """Saturated carried-over spend (..., time, cell) from lagged spend (time, lag, cell) and spread parameters.

    With numpy the carry-over is an einsum, so draws x periods x lags x cells is never held in memory.
    """
    if xp is not np:
        return media.response(lagged, params, xp)
    carried = np.einsum("tlk,...lk->...tk", lagged, media.weights(params, np))
    return media.saturation.saturate(carried, params, np)


def geo_coefficients(
    params: dict[str, Any], lagged: Any, roas_to_coef: Any, media: MediaTransform, xp: Any, n_geos: int, season_basis: Any = None
) -> Any:
    """Per geo and channel multipliers (..., geo, channel) that turn saturated media into the geo's target units.

    Solved from each geo's ROAS over the training periods (see `features.channel_coefficients`):
    roas_to_coef (geo, channel) is the geo's total spend / its target scale. `params` carry
    `roas_geo` and the spread transform parameters."""
    saturated = cell_response(lagged, params, media, xp)
    multiplier = media_multiplier(params, season_basis, media, xp)
    if multiplier is not None:
        saturated = saturated * multiplier[..., :, None]
    total = xp.maximum(saturated.sum(axis=-2), ZERO_SPEND_FLOOR)
    return params["roas_geo"] * roas_to_coef / split_cells(total, n_geos, xp)


def geo_components(params: dict[str, Any], feats: dict[str, Any], media: MediaTransform, xp: Any, n_geos: int) -> dict[str, Any]:
    """Each part of the prediction on each geo's own scale (multiply by the geo's target scale for currency).

    params: spread transform parameters, `channel_coef` (..., geo, channel), `intercept` (..., geo),
    `trend_geo` (..., geo), `season_geo` (..., geo, fourier) and the shared ones. Returns baseline,
    trend, seasonality, controls (..., time, geo) and media (..., time, geo, channel).
    """
    saturated = cell_response(feats["lagged"], params, media, xp)
    multiplier = media_multiplier(params, feats.get("media_season"), media, xp)
    if multiplier is not None:
        saturated = saturated * multiplier[..., :, None]
    media_cells = cells(params["channel_coef"])[..., None, :] * saturated
    baseline = params["intercept"][..., None, :] * xp.ones_like(feats["time"])[:, None]
    out = {"baseline": baseline, "media": split_cells(media_cells, n_geos, xp)}
    out["trend"] = 0 * baseline
    if "trend_geo" in params:
        out["trend"] = params["trend_geo"][..., None, :] * feats["time"][:, None]
        if "trend_change" in params:  # shared bends (non-centred slope changes), on every geo
            bends = (TREND_CHANGE_SCALE * params["trend_change"][..., None, :] * feats["trend_hinges"]).sum(axis=-1)
            out["trend"] = out["trend"] + bends[..., :, None]
    out["seasonality"] = 0 * baseline
    if "season_geo" in params:
        out["seasonality"] = _weighted(feats["fourier"][:, None, :], params["season_geo"][..., None, :, :], xp)
    out["controls"] = 0 * baseline
    if "control_coef" in params:
        out["controls"] = _weighted(feats["controls"], params["control_coef"][..., None, None, :], xp)
    return out


def _weighted(basis: Any, coef: Any, xp: Any) -> Any:
    """sum_k basis[t, g, k] x coef[..., t, g, k] over the last axis; with numpy as an einsum (no draws x periods x terms array)."""
    if xp is not np:
        return (coef * basis).sum(axis=-1)
    t, g, k = np.broadcast_shapes(basis.shape, coef.shape[-3:])
    return np.einsum("tgk,...tgk->...tg", np.broadcast_to(basis, (t, g, k)), np.broadcast_to(coef, (*coef.shape[:-3], t, g, k)))


def spend_shares(data: ModelData, periods: int = SHARE_PERIODS) -> np.ndarray:
    """Each geo's share (geo, channel) of each channel's spend over the last `periods` periods.

    A channel without spend in those periods is split by its spend over all periods, one never
    bought by the geos' mean outcome (their size). Columns sum to 1. This is how a national plan
    (spend per channel) is spread over the geos."""
    spend = data.spend.transpose(DATE, GEO, CHANNEL).values
    recent = spend[-periods:].sum(axis=0)
    overall = spend.sum(axis=0)
    size = data.target.mean(DATE).sel({GEO: data.geos}).values
    size = size / size.sum() if size.sum() > 0 else np.full(len(size), 1.0 / len(size))
    basis = np.where(recent.sum(axis=0) > 0, recent, np.where(overall.sum(axis=0) > 0, overall, size[:, None]))
    return basis / basis.sum(axis=0)


def geo_lift_predictions(
    params: dict[str, Any],
    rows: LiftRows,
    media: MediaTransform,
    target_scale: Any,
    xp: Any,
    season_basis: Any = None,
) -> Any:
    """Each lift test's predicted lift (..., test) in currency (per draw when params carry a draw axis): the sum over its
    geo x channel designs (`lift_response.cell_lift_designs`, stacked in `rows`). `params` are spread, with `channel_coef` (..., geo, channel);
    `target_scale` (geo,) is an array, or the model's data."""
    per_cell = cells(params["channel_coef"] * target_scale[:, None])
    return predicted_lifts(params | {"channel_coef": per_cell}, rows, media, 1.0, xp, season_basis)
