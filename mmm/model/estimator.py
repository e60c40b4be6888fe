"""MarketingMixModel: fit it, then read results from it (scikit-learn style).

A fitted model is fully described by one netCDF file: the posterior, the inputs it was
fitted on, the config (YAML) and the scaling (JSON) travel inside it, so a model is reloaded
without pickles and without the original data file.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr

from mmm.config import Config, parse_fitted_config
from mmm.core.constants import ANALYSIS_DRAWS, CHANNEL, DATE, GEO, SAMPLE
from mmm.core.errors import ArgumentError, MMMError
from mmm.core.stats import thin_draws
from mmm.data.dataset import MIN_PERIODS, ModelData
from mmm.data.lifts import LiftTest
from mmm.data.loading import load_data
from mmm.model import geo_fit
from mmm.model.choice import ModelChoice
from mmm.model.features import (
    Scaling,
    baseline_level,
    build_features,
    channel_coefficients,
    channel_matrix,
    components,
    controls_matrix,
    mean_prediction,
    media_transform,
)
from mmm.model.geo import geo_scaling, is_geo
from mmm.model.graph import build_model, parameter_labels, roas_prior_params
from mmm.model.lift_response import LiftRows, lift_designs, predicted_lifts
from mmm.model.likelihood import simulate
from mmm.model.sampling import Diagnostics, diagnose, sample_posterior


def check_fit_inputs(data: ModelData, holdout: int = 0, lifts: list[LiftTest] | None = None) -> None:
    """Raise MMMError when the holdout leaves too little to fit on or a lift test falls inside it."""
    n_train = data.n_periods - holdout
    if holdout < 0:
        raise ArgumentError("holdout", f"{{arg}} {holdout}: the holdout is a number of final periods, 0 or more")
    if n_train < MIN_PERIODS:
        raise ArgumentError("holdout", f"{{arg}} {holdout} leaves {n_train} periods to fit on; keep at least {MIN_PERIODS}")
    late = [t for t in lifts or [] if pd.Timestamp(t.end) > data.dates[n_train - 1]]
    if late:
        raise ArgumentError(
            "holdout",
            f"lift test(s) on {', '.join(t.channel for t in late)} end after the last fitted period "
            f"({data.dates[n_train - 1].date()}); shorten {{arg}} or drop those tests",
        )


class MarketingMixModel:
    """A Bayesian marketing-mix model for one config.

    Use: ``m = MarketingMixModel(load_config("configs/demo.yaml")).fit()``, then read
    ``m.diagnostics``, or pass it to ``mmm.analysis.summary.fit_summary``. Predictions come
    back as xarray objects with named dimensions (sample, date, geo, channel), in currency.
    """

    def __init__(self, config: Config):
        self.config = config
        self.media = media_transform(config.model)
        self.data: ModelData | None = None
        self.scaling: Scaling | None = None
        self.idata: az.InferenceData | None = None
        self.diagnostics: Diagnostics | None = None
        self.fit_seconds: float = float("nan")
        self.n_train: int = 0
        self.lifts: list[LiftTest] = []
        self.timings: dict[str, float] = {}  # seconds per stage of the last fit: compile, sample
        self.choice: ModelChoice | None = None  # how the form was chosen, under adstock or saturation 'auto'

    # ---- fitting -------------------------------------------------------------------------
    def fit(
        self,
        data: ModelData | None = None,
        holdout: int = 0,
        lifts: list[LiftTest] | None = None,
        scaling: Scaling | None = None,
        init: dict[str, np.ndarray] | None = None,
    ) -> MarketingMixModel:
        """Sample the posterior on all periods but the last `holdout` ones, calibrated by any lift tests.

        `scaling` keeps another fit's scales (a refresh: parameters then mean the same thing),
        else they are fixed on the training periods; `init` gives the chains' starting values
        by parameter name (natural scale), else the sampler's default initialisation.
        """
        data = data if data is not None else load_data(self.config)
        check_fit_inputs(data, holdout, lifts)
        if self.config.model.is_auto:
            from mmm.model.selection import choose_form  # the candidates are models of this class

            best = choose_form(self.config, data, holdout, lifts, scaling=scaling, init=init)
            vars(self).update(vars(best))  # this model becomes the chosen candidate: its config, posterior and choice
            return self
        n_train = data.n_periods - holdout
        start = time.perf_counter()
        train = data.head(n_train)
        self.data, self.n_train = data, n_train
        if scaling is None:  # a geo model scales each geo on its own; one geo is the national model
            scaling = geo_scaling(train) if len(train.geos) > 1 else Scaling.from_data(train)
        self.scaling = scaling
        feats = self._train_features(train)
        self.lifts = list(lifts or [])
        model = self._build(train, feats)
        self.timings = {}
        idata = sample_posterior(model, self.config.sampler, self.timings, init)
        sampled = [rv.name for rv in model.free_RVs]
        self.idata = self._attach_inputs(idata, data)
        if self.is_geo:
            geo_fit.add_derived(self, feats, train)
        else:
            self._add_derived(feats["lagged"], train.spend_matrix(), train.target_series(), feats.get("media_season"))
        self.diagnostics = diagnose(self.idata, sampled, parameter_labels(self.media))
        self.fit_seconds = time.perf_counter() - start
        self.idata.attrs["fit_seconds"] = self.fit_seconds
        return self

    @property
    def train(self) -> ModelData:
        """The periods the posterior was fitted on."""
        return self.observed.head(self.n_train)

    def _require_fit(self) -> None:
        if self.idata is None or self.data is None or self.scaling is None:
            raise MMMError("the model is not fitted yet: call fit() first")

    @property
    def observed(self) -> ModelData:
        """Every period the model was given: the fitted ones and any held out after them."""
        self._require_fit()
        assert self.data is not None
        return self.data

    @property
    def scales(self) -> Scaling:
        """The scaling fixed on the training data (target mean, typical spend per channel)."""
        if self.scaling is None:
            raise MMMError("the model is not fitted yet: call fit() first")
        return self.scaling

    @property
    def is_geo(self) -> bool:
        """Whether this is a geo model (fitted on several geos, each with its own baseline and pooled effects; `mmm.model.geo`)."""
        return self.scaling is not None and is_geo(self.scaling)

    def _train_features(self, train: ModelData) -> dict[str, np.ndarray]:
        if self.is_geo:
            return geo_fit.train_features(self, train)
        return self._features(train.dates, train.spend_matrix(), train.control_matrix())

    def _features(
        self, dates: pd.DatetimeIndex, spend: np.ndarray, controls: np.ndarray, history: np.ndarray | None = None
    ) -> dict[str, np.ndarray]:
        assert self.scaling is not None
        return build_features(self.scaling, self.config.model, dates, spend, controls, history)

    def _build(self, train: ModelData, feats: dict[str, np.ndarray]) -> Any:
        if self.is_geo:
            return geo_fit.build(self, train, feats)
        designs = self._lift_designs(self.lifts, train) if self.lifts else None
        return build_model(
            self.config,
            feats,
            train.dates,
            train.target_series(),
            train.spend_matrix(),
            self.scales,
            train.channels,
            train.control_names,
            self.lifts,
            designs,
        )

    def prior_predictive(self, draws: int = 500, seed: int = 0) -> xr.DataArray:
        """Draws (sample, date) of the target the priors alone expect over the training periods, currency."""
        import pymc as pm

        train = self.train
        model = self._build(train, self._train_features(train))
        with model:
            prior = pm.sample_prior_predictive(draws=draws, random_seed=seed, var_names=["obs"])
        obs = _stack(prior.prior_predictive["obs"])
        if self.is_geo:  # each geo on its own scale; the total over geos
            scale = xr.DataArray(geo_fit.observation_scale(self), dims=GEO, coords={GEO: train.geos})
            return (obs.assign_coords({GEO: train.geos}) * scale).sum(GEO).assign_coords({DATE: train.dates.values})
        obs = obs * self.scales.target
        return obs.assign_coords({DATE: train.dates.values})

    def _lift_designs(self, tests: list[LiftTest], train: ModelData) -> list:
        return lift_designs(tests, train.dates, train.spend_matrix(), train.channels, np.asarray(self.scales.spend), self.media.l_max)

    def predict_lifts(self, tests: list[LiftTest], params: dict[str, np.ndarray] | None = None) -> np.ndarray:
        """Posterior draws (sample, test) of the lift each test should have measured, currency."""
        params = self.posterior_params() if params is None else params
        if self.is_geo:
            return geo_fit.predict_lifts(self, tests, params)
        designs = self._lift_designs(tests, self.train)
        basis = self.media.season.basis(self.train.dates) if self.media.season is not None else None
        return predicted_lifts(params, LiftRows.of(designs), self.media, self.scales.target, np, basis)

    def media_multiplier(self, dates: pd.DatetimeIndex, params: dict[str, np.ndarray] | None = None) -> np.ndarray | None:
        """Posterior draws (sample, date) of how effective media is at these dates (1: an average week of the year).

        Every channel's effect in a period is its effect at average effectiveness times this
        multiplier. None when the model has no media seasonality (effectiveness constant).
        """
        if self.media.season is None:
            return None
        params = self.posterior_params() if params is None else params
        return np.asarray(self.media.season.multiplier(self.media.season.basis(dates), params, np))

    def _add_derived(
        self, train_lagged: np.ndarray, train_spend: np.ndarray, train_target: np.ndarray, season_basis: np.ndarray | None = None
    ) -> None:
        """Store each draw's media multiplier and intercept, derived after sampling to keep the sampler lean."""
        assert self.idata is not None
        post = self.idata.posterior
        params = {k: post[k].values for k in post.data_vars}
        for component in (self.media.adstock, self.media.saturation):
            component.check(params)  # every parameter a component's formula reads was sampled
        roas_to_coef = train_spend.sum(axis=0) / self.scales.target
        coef = channel_coefficients(params, train_lagged, roas_to_coef, self.media, np, season_basis)
        post["channel_coef"] = (("chain", "draw", CHANNEL), coef)
        target_mean = float(np.mean(train_target / self.scales.target))
        post["intercept"] = (
            ("chain", "draw"),
            baseline_level(params["level_offset"], params["roas"], roas_to_coef, target_mean, len(train_target)),
        )

    def _attach_inputs(self, idata: az.InferenceData, data: ModelData) -> az.InferenceData:
        """Keep the inputs, config and scaling with the posterior so the file is the whole model.

        ArviZ groups: the modelled target in `observed_data`, spend, controls and ROAS priors in
        `constant_data`, all on the one time dimension `date`.
        """
        train = data.head(self.n_train)
        mu, sigma = roas_prior_params(self.config, train.target_series(), train.spend_matrix())
        constants = xr.Dataset(
            {"spend": data.spend, "controls": data.controls, "roas_prior_mu": (CHANNEL, mu), "roas_prior_sigma": (CHANNEL, sigma)},
        )
        if data.value is not None:
            constants["value"] = data.value
        keep = {g: idata[g] for g in ("posterior", "sample_stats") if g in idata.groups()}
        out = az.InferenceData(**keep, observed_data=xr.Dataset({"target": data.target}), constant_data=constants)
        assert self.scaling is not None
        out.attrs.update(
            {
                "mmm_config_yaml": self.config.to_yaml(),
                "mmm_scaling_json": json.dumps(self.scaling.to_dict()),
                "mmm_n_train": self.n_train,
                "mmm_frequency": data.frequency,
                "mmm_source": data.source,
                "mmm_warnings_json": json.dumps(list(data.warnings)),
                "mmm_notes_json": json.dumps(list(data.notes)),
                "mmm_lifts_json": json.dumps([t.to_dict() for t in self.lifts]),
            }
        )
        return out

    # ---- persistence ---------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the whole model as one netCDF file."""
        self._require_fit()
        assert self.idata is not None and self.diagnostics is not None
        path = Path(path)
        self.idata.attrs["mmm_diagnostics_json"] = json.dumps(self.diagnostics.to_dict())
        self.idata.attrs["mmm_timings_json"] = json.dumps(self.timings)
        if self.choice is not None:
            self.idata.attrs["mmm_model_choice_json"] = json.dumps(self.choice.to_dict())
        self.idata.to_netcdf(str(path))
        return path

    @classmethod
    def load(cls, path: str | Path) -> MarketingMixModel:
        """Rebuild a fitted model from a file written by save()."""
        path = Path(path)
        try:
            idata = az.from_netcdf(str(path))
            attrs = idata.attrs
            config = parse_fitted_config(attrs["mmm_config_yaml"])
            scaling = Scaling(**json.loads(attrs["mmm_scaling_json"]))
            diag = Diagnostics.from_dict(json.loads(attrs["mmm_diagnostics_json"]))
            const = idata.constant_data
            inputs = xr.Dataset(
                {"target": idata.observed_data["target"], **{k: const[k] for k in ("spend", "controls", "value") if k in const}}
            )
        except (OSError, KeyError, ValueError, TypeError, AttributeError) as exc:
            raise MMMError(f"{path}: not a readable mmm model file ({exc.__class__.__name__}: {exc})") from None
        m = cls(config)
        m.data = ModelData(
            inputs=inputs.load(),
            frequency=str(attrs["mmm_frequency"]),
            source=str(attrs.get("mmm_source", "")),
            warnings=tuple(json.loads(attrs.get("mmm_warnings_json", "[]"))),
            notes=tuple(json.loads(attrs.get("mmm_notes_json", "[]"))),
        )
        m.idata, m.scaling, m.diagnostics = idata, scaling, diag
        m.lifts = [LiftTest(**t) for t in json.loads(attrs.get("mmm_lifts_json", "[]"))]
        m.n_train = int(attrs["mmm_n_train"])
        m.fit_seconds = float(attrs.get("fit_seconds", float("nan")))
        m.timings = json.loads(attrs.get("mmm_timings_json", "{}"))
        if "mmm_model_choice_json" in attrs:
            m.choice = ModelChoice.model_validate(json.loads(attrs["mmm_model_choice_json"]))
        return m

    # ---- reading results -----------------------------------------------------------------
    @property
    def channels(self) -> list[str]:
        return self.observed.channels

    def posterior_params(self) -> dict[str, np.ndarray]:
        """Posterior draws of every parameter, chains stacked: arrays of shape (sample, ...), for the formulas."""
        return {str(name): da.values for name, da in self.draws().data_vars.items()}

    def draws(self) -> xr.Dataset:
        """The posterior with chains and draws stacked into one `sample` dimension (first), at most
        ANALYSIS_DRAWS of them (`thin_draws`): more would not sharpen an interval, only cost memory and time."""
        self._require_fit()
        assert self.idata is not None
        # contiguous copies: the same draws give bit-identical results however they were loaded
        stacked = _stack(thin_draws(self.idata.posterior, ANALYSIS_DRAWS))
        return stacked.copy(data={k: np.ascontiguousarray(v.values) for k, v in stacked.data_vars.items()})

    def predict_components(
        self,
        spend: xr.DataArray,
        controls: xr.DataArray,
        history: xr.DataArray | None = None,
        params: dict[str, np.ndarray] | None = None,
    ) -> xr.Dataset:
        """Posterior draws of each component over spend's dates (currency per period).

        spend: (date, channel) in currency (a geo dim is summed); controls: (date, control); history: spend of the periods just before (date,
        channel), for carry-in. Returns baseline, trend, seasonality, controls and mean
        (sample, date, geo) and media (sample, date, geo, channel). Pass `params` to reuse draws.
        A geo model predicts each geo: spend and history with a geo dim are read per geo, without one
        they are spread over the geos by their share of each channel's recent spend (`geo.spend_shares`).
        """
        data = self.observed
        params = self.posterior_params() if params is None else params
        if self.is_geo:
            return geo_fit.predict(self, spend, controls, history, params)
        dates = pd.DatetimeIndex(spend[DATE].values)
        spend_m = channel_matrix(spend, self.channels)
        ctrl = controls_matrix(controls, data, len(dates))
        hist = None if history is None else channel_matrix(history, self.channels)
        parts = components(params, self._features(dates, spend_m, ctrl, hist), self.media, np)
        scale = self.scales.target
        coords = {SAMPLE: np.arange(next(iter(params.values())).shape[0]), DATE: dates.values, GEO: data.geos}
        out = xr.Dataset(coords=coords)
        for name, values in parts.items():
            if name == "media":
                out["media"] = xr.DataArray(
                    np.asarray(values)[:, :, None, :] * scale, dims=(SAMPLE, DATE, GEO, CHANNEL), coords={**coords, CHANNEL: self.channels}
                )
            else:
                out[name] = (
                    (SAMPLE, DATE, GEO),
                    np.broadcast_to(np.asarray(values), (len(coords[SAMPLE]), len(dates)))[:, :, None] * scale,
                )
        out["mean"] = (SAMPLE, DATE, GEO), mean_prediction(parts)[:, :, None] * scale
        return out

    def in_sample_components(self, params: dict[str, np.ndarray] | None = None) -> xr.Dataset:
        """Components over every period of the data (training and any holdout)."""
        d = self.observed
        return self.predict_components(d.spend, d.controls, params=params)

    def sample_observations(self, mean: xr.DataArray, seed: int, params: dict[str, Any] | None = None) -> xr.DataArray:
        """Posterior predictive draws around predicted means (sample, ...), in the outcome's unit (see `mmm.model.likelihood`).

        A geo model's means must keep their geo dim (each geo has its own noise); sum the draws over geos afterwards.
        """
        params = self.posterior_params() if params is None else params
        if self.is_geo:
            if GEO not in mean.dims:
                raise MMMError("a geo model simulates outcomes per geo: pass means with their geo dim and sum the draws")
            m = mean.transpose(SAMPLE, ..., GEO)
            return m.copy(data=simulate(params, m.values, np.random.default_rng(seed), geo_fit.observation_scale(self)))
        m = mean.transpose(SAMPLE, ...)
        return m.copy(data=simulate(params, m.values, np.random.default_rng(seed), self.scales.target))


def _stack(ds: Any) -> Any:
    """Chains and draws stacked into one plain `sample` dimension, placed first."""
    stacked = ds.stack({SAMPLE: ("chain", "draw")}).transpose(SAMPLE, ...)
    return stacked.drop_vars([SAMPLE, "chain", "draw"]).assign_coords({SAMPLE: np.arange(stacked.sizes[SAMPLE])})
