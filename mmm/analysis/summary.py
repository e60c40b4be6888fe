"""The results of a fit as one typed object, `FitSummary`, computed from one set of posterior draws.

It is the single source of every number: the CLI table, `--output-json`, MLflow metrics and
the report all print from it.
"""

from __future__ import annotations

import math

import numpy as np
import xarray as xr

from mmm.analysis.decomposition import FitQuality, carryover, channel_draws_by_geo, fit_quality
from mmm.analysis.geo_results import geo_results
from mmm.analysis.media_season import media_seasonality
from mmm.analysis.results import ChannelResult, DataPeriod, FitSummary, ResponseCurve, RoasEvidence, SamplingCost, Timeline
from mmm.analysis.review import review_fit
from mmm.analysis.value import conversion_value
from mmm.core.constants import CHANNEL, CHANNEL_METRICS, CONVERSION_METRICS, COST_RATIO_METRICS, DATE, GEO, SAMPLE
from mmm.core.results import Histogram, SeriesBand
from mmm.core.stats import Interval, RatioInterval, band
from mmm.model.cells import plan_cells
from mmm.model.estimator import MarketingMixModel

CURVE_REACH = 1.5  # response curves run to 1.5x the highest spend seen (the optimiser's default cap)
CURVE_POINTS = 121
HISTOGRAM_BINS = 60


def fit_summary(model: MarketingMixModel, run_id: str | None = None) -> FitSummary:
    """Diagnostics, fit quality and per-channel returns (mean and 90% interval) of a fitted model."""
    params = model.posterior_params()
    draws, by_geo = channel_draws_by_geo(model, params, by_geo=model.is_geo)
    quality = fit_quality(model, params)
    train = model.train
    assert model.diagnostics is not None
    target_total = float(train.target.sum())
    carry = carryover(model, params)
    curves = response_curves(model, params)
    evidence = roas_evidence(model, params)
    metrics = CHANNEL_METRICS + (() if model.config.outcome.is_money else CONVERSION_METRICS)
    value = conversion_value(model.config, draws.contribution, draws.value)
    channels = {}
    for c in model.config.channels:
        sel = {CHANNEL: c.name}
        channels[c.name] = ChannelResult(
            tier=c.tier,
            spend=float(draws.spend.sel(sel)),
            cost=float(draws.cost.sel(sel)),
            cost_lines=draws.cost_lines[c.name],
            **{m: _interval(getattr(draws, m), sel, m in COST_RATIO_METRICS) for m in metrics},
            value_per_conversion=value.per_channel[c.name] if value is not None else None,
            carryover=carry[c.name],
            response=curves[c.name],
            roas_evidence=evidence[c.name],
        )
    return FitSummary(
        run_id=run_id,
        fit_seconds=round(model.fit_seconds, 2),
        currency=model.config.currency,
        outcome=model.config.data.kpi,
        diagnostics=model.diagnostics,
        fit=quality.in_sample,
        data=DataPeriod(
            source=train.source,
            frequency=train.frequency,
            first_date=str(train.dates[0].date()),
            last_date=str(train.dates[-1].date()),
            periods=train.n_periods,
            target_total=target_total,
        ),
        channels=channels,
        warnings=list(train.warnings),
        notes=list(train.notes),
        holdout=quality.holdout,
        marketing_share=Interval.of(draws.contribution.sum(CHANNEL) / target_total, SAMPLE),
        timeline=timeline(model, quality),
        control_names=train.control_names,
        model_settings=model.config.model.model_dump(mode="json"),
        sampling=sampling_cost(model),
        review=review_fit(model, params, quality, draws),
        model_choice=model.choice,
        value_per_conversion=value,
        media_seasonality=media_seasonality(model, params),
        geos=geo_results(model, by_geo, quality) if by_geo is not None else None,
    )


def _interval(draws: xr.DataArray | None, sel: dict[str, str], cost_ratio: bool = False) -> Interval | None:
    """Mean and 90% interval of one channel's draws (a cost per conversion with its median too); None for a figure that does not apply."""
    if draws is None:
        return None
    return (RatioInterval if cost_ratio else Interval).of(draws.sel(sel), SAMPLE)


def sampling_cost(model: MarketingMixModel) -> SamplingCost:
    """Compile and sampling seconds of the fit, draws kept per chain, and minimum bulk ESS per sampling second."""
    assert model.idata is not None and model.diagnostics is not None
    sizes = model.idata.posterior.sizes
    sample = model.timings.get("sample_seconds")
    return SamplingCost(
        compile_seconds=model.timings.get("compile_seconds"),
        sample_seconds=sample,
        chains=int(sizes["chain"]),
        draws_per_chain=int(sizes["draw"]),
        ess_per_second=model.diagnostics.min_ess_bulk / sample if sample else None,
    )


def timeline(model: MarketingMixModel, quality: FitQuality) -> Timeline:
    """Actual outcome, prediction with its 90% predictive band and the mean of each part, per period."""
    data = model.observed
    parts = quality.components.sum(GEO).mean(SAMPLE)
    media = parts["media"]
    return Timeline(
        dates=[str(d.date()) for d in data.dates],
        fitted_periods=model.n_train,
        actual=data.target.sum(GEO).values.tolist(),
        predicted=SeriesBand(mean=quality.predicted.values.tolist(), low=quality.low.values.tolist(), high=quality.high.values.tolist()),
        **{k: parts[k].transpose(DATE).values.tolist() for k in ("baseline", "trend", "seasonality", "controls")},
        media={ch: media.sel({CHANNEL: ch}).transpose(DATE).values.tolist() for ch in model.channels},
    )


def response_curves(model: MarketingMixModel, params: dict[str, np.ndarray]) -> dict[str, ResponseCurve]:
    """Long-run outcome per period of spending x every period, per channel, from 0 to 1.5x the highest spend seen.

    With the same spend every period, carried-over spend equals that spend (the carry-over
    weights sum to one), so the curve is the channel's saturation curve times its multiplier.
    """
    train = model.train
    spend = train.spend.sum(GEO)
    seen_max = spend.max(DATE)
    average = spend.mean(DATE)
    reach = np.maximum(CURVE_REACH * seen_max.values, 1.1 * average.values)
    grid = np.linspace(0.0, 1.0, CURVE_POINTS)[:, None] * reach[None, :]  # (point, channel)
    cells = plan_cells(model)  # a geo model: the spend spread over the geos as a plan is, each geo's outcome added up
    coef = cells.coef(params)  # (sample, cell): currency per period at saturation 1
    saturated = model.media.saturation.saturate(cells.expand(grid) / cells.spend_scale, cells.params(params, model), np)
    outcome = cells.collapse(coef[:, None, :] * saturated)  # (sample, point, channel)
    mean, lo, hi = band(outcome)
    return {
        ch: ResponseCurve(
            spend=grid[:, i].tolist(),
            mean=mean[:, i].tolist(),
            low=lo[:, i].tolist(),
            high=hi[:, i].tolist(),
            observed_max=float(seen_max.sel({CHANNEL: ch})),
        )
        for i, ch in enumerate(model.channels)
    }


def roas_evidence(model: MarketingMixModel, params: dict[str, np.ndarray]) -> dict[str, RoasEvidence]:
    """Per channel: its ROAS prior (LogNormal mu, sigma) and a histogram of its posterior ROAS."""
    assert model.idata is not None
    const = model.idata.constant_data
    roas = xr.DataArray(params["roas"], dims=(SAMPLE, CHANNEL), coords={CHANNEL: model.channels})
    out = {}
    for ch in model.channels:
        mu, sigma = float(const["roas_prior_mu"].sel({CHANNEL: ch})), float(const["roas_prior_sigma"].sel({CHANNEL: ch}))
        draws = roas.sel({CHANNEL: ch}).values
        top = max(float(np.quantile(draws, 0.995)), math.exp(mu + 1.96 * sigma))
        out[ch] = RoasEvidence(prior_mu=mu, prior_sigma=sigma, posterior=Histogram.of(draws, np.linspace(0, top, HISTOGRAM_BINS)))
    return out
