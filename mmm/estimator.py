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

from mmm.config import Config, parse_config
from mmm.data import MIN_PERIODS, ModelData, load_data
from mmm.errors import MMMError
from mmm.features import Scaling, build_features, channel_coefficients, components, mean_prediction
from mmm.lifts import LiftTest, lift_designs, predicted_lifts
from mmm.model import build_model, roas_prior_params
from mmm.sampling import Diagnostics, diagnose, sample_posterior


def check_fit_inputs(data: ModelData, holdout: int = 0, lifts: list[LiftTest] | None = None) -> None:
    """Raise MMMError when the holdout leaves too little to fit on or a lift test falls inside it."""
    n_train = data.n_periods - holdout
    if holdout < 0 or n_train < MIN_PERIODS:
        raise MMMError(f"--holdout {holdout} leaves {n_train} periods to fit on; keep at least {MIN_PERIODS}")
    late = [t for t in lifts or [] if pd.Timestamp(t.end) > data.dates[n_train - 1]]
    if late:
        raise MMMError(
            f"lift test(s) on {', '.join(t.channel for t in late)} end after the last fitted period "
            f"({data.dates[n_train - 1].date()}); shorten --holdout or drop those tests"
        )


class MarketingMixModel:
    """A Bayesian marketing-mix model for one config.

    Use: ``m = MarketingMixModel(load_config("configs/demo.yaml")).fit()``, then read
    ``m.diagnostics``, or pass it to ``mmm.decomposition.summarize``.
    """

    def __init__(self, config: Config):
        self.config = config
        self.data: ModelData | None = None
        self.scaling: Scaling | None = None
        self.idata: az.InferenceData | None = None
        self.diagnostics: Diagnostics | None = None
        self.fit_seconds: float | None = None
        self.n_train: int | None = None
        self.lifts: list[LiftTest] = []

    # ---- fitting -------------------------------------------------------------------------
    def fit(self, data: ModelData | None = None, holdout: int = 0, lifts: list[LiftTest] | None = None) -> MarketingMixModel:
        """Sample the posterior on all periods but the last `holdout` ones, calibrated by any lift tests."""
        data = data if data is not None else load_data(self.config)
        check_fit_inputs(data, holdout, lifts)
        n_train = data.n_periods - holdout
        start = time.perf_counter()
        train = data.head(n_train)
        self.data, self.n_train = data, n_train
        self.scaling = Scaling.from_data(train)
        feats = self._features(train.dates, train.spend, train.controls)
        self.lifts = list(lifts or [])
        model = self._build(train, feats)
        idata = sample_posterior(model, self.config.sampler)
        sampled = [rv.name for rv in model.free_RVs]
        self.idata = self._attach_inputs(idata, data)
        self._add_channel_coef(feats["lagged"], train.spend)
        self.diagnostics = diagnose(self.idata, sampled)
        self.fit_seconds = time.perf_counter() - start
        self.idata.attrs["fit_seconds"] = self.fit_seconds
        return self

    def _features(self, dates: pd.DatetimeIndex, spend: np.ndarray, controls: np.ndarray, history: np.ndarray | None = None) -> dict[str, np.ndarray]:
        return build_features(self.scaling, self.config.model, dates, spend, controls, history)

    def _build(self, train: ModelData, feats: dict[str, np.ndarray]) -> Any:
        designs = self._lift_designs(self.lifts, train) if self.lifts else None
        return build_model(self.config, feats, train.target, train.spend, self.scaling, train.channels,
                           train.control_names, self.lifts, designs)

    def prior_predictive(self, draws: int = 500, seed: int = 0) -> np.ndarray:
        """Draws (draw, period) of the target the priors alone expect over the training periods, currency."""
        import pymc as pm

        self._require_fit()
        train = self.data.head(self.n_train)
        model = self._build(train, self._features(train.dates, train.spend, train.controls))
        with model:
            prior = pm.sample_prior_predictive(draws=draws, random_seed=seed, var_names=["obs"])
        return prior.prior_predictive["obs"].stack(sample=("chain", "draw")).transpose("sample", ...).values * self.scaling.target

    def _lift_designs(self, tests: list[LiftTest], train: ModelData) -> list:
        return lift_designs(tests, train.dates, train.spend, train.channels, np.asarray(self.scaling.spend), self.config.model.l_max)

    def predict_lifts(self, tests: list[LiftTest], params: dict[str, np.ndarray] | None = None) -> np.ndarray:
        """Posterior draws (draw, test) of the lift each test should have measured, currency."""
        self._require_fit()
        params = self.posterior_params() if params is None else params
        designs = self._lift_designs(tests, self.data.head(self.n_train))
        return np.column_stack(predicted_lifts(params, designs, self.config.model, self.scaling.target, np))

    def _add_channel_coef(self, train_lagged: np.ndarray, train_spend: np.ndarray) -> None:
        """Store each draw's media multiplier (derived after sampling to keep the sampler lean)."""
        post = self.idata.posterior
        params = {k: post[k].values for k in post.data_vars}
        coef = channel_coefficients(params, train_lagged, train_spend.sum(axis=0) / self.scaling.target, self.config.model, np)
        post["channel_coef"] = (("chain", "draw", "channel"), coef)

    def _attach_inputs(self, idata: az.InferenceData, data: ModelData) -> az.InferenceData:
        """Keep the inputs, config and scaling with the posterior so the file is the whole model."""
        mu, sigma = roas_prior_params(self.config, data.target[: self.n_train], data.spend[: self.n_train])
        inputs = xr.Dataset(
            {
                "input_target": ("period", data.target),
                "input_spend": (("period", "channel"), data.spend),
                "input_controls": (("period", "control"), data.controls),
                "roas_prior_mu": ("channel", mu),
                "roas_prior_sigma": ("channel", sigma),
            },
            coords={"period": data.dates.values, "channel": data.channels, "control": data.control_names},
        )
        keep = {g: idata[g] for g in ("posterior", "sample_stats") if g in idata.groups()}
        out = az.InferenceData(**keep, constant_data=inputs)
        out.attrs.update(
            {
                "mmm_config_yaml": self.config.to_yaml(),
                "mmm_scaling_json": json.dumps(self.scaling.to_dict()),
                "mmm_n_train": self.n_train,
                "mmm_frequency": data.frequency,
                "mmm_source": data.source,
                "mmm_warnings_json": json.dumps(data.warnings),
                "mmm_notes_json": json.dumps(data.notes),
                "mmm_lifts_json": json.dumps([t.to_dict() for t in self.lifts]),
            }
        )
        return out

    # ---- persistence ---------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the whole model as one netCDF file."""
        self._require_fit()
        path = Path(path)
        self.idata.attrs["mmm_diagnostics_json"] = json.dumps(self.diagnostics.to_dict())
        self.idata.to_netcdf(str(path))
        return path

    @classmethod
    def load(cls, path: str | Path) -> MarketingMixModel:
        """Rebuild a fitted model from a file written by save()."""
        path = Path(path)
        try:
            idata = az.from_netcdf(str(path))
            attrs = idata.attrs
            config = parse_config(attrs["mmm_config_yaml"])
            scaling = Scaling(**json.loads(attrs["mmm_scaling_json"]))
            diag = Diagnostics(**json.loads(attrs["mmm_diagnostics_json"]))
        except (OSError, KeyError, ValueError, TypeError) as exc:
            raise MMMError(f"{path}: not a readable mmm model file ({exc.__class__.__name__}: {exc})") from None
        m = cls(config)
        const = idata.constant_data
        m.data = ModelData(
            dates=pd.DatetimeIndex(const["period"].values),
            frequency=str(attrs["mmm_frequency"]),
            target=const["input_target"].values,
            spend=const["input_spend"].values,
            channels=[str(c) for c in const["channel"].values],
            controls=const["input_controls"].values.reshape(const.sizes["period"], -1),
            control_names=[str(c) for c in const["control"].values],
            source=str(attrs.get("mmm_source", "")),
            warnings=json.loads(attrs.get("mmm_warnings_json", "[]")),
            notes=json.loads(attrs.get("mmm_notes_json", "[]")),
        )
        m.idata, m.scaling, m.diagnostics = idata, scaling, diag
        m.lifts = [LiftTest(**t) for t in json.loads(attrs.get("mmm_lifts_json", "[]"))]
        m.n_train = int(attrs["mmm_n_train"])
        m.fit_seconds = float(attrs.get("fit_seconds", float("nan")))
        return m

    # ---- reading results -----------------------------------------------------------------
    def _require_fit(self) -> None:
        if self.idata is None:
            raise MMMError("the model is not fitted yet: call fit() first")

    @property
    def channels(self) -> list[str]:
        self._require_fit()
        return self.data.channels

    def posterior_params(self) -> dict[str, np.ndarray]:
        """Posterior draws of every parameter, chains stacked: arrays of shape (draw, ...)."""
        self._require_fit()
        post = self.idata.posterior
        # contiguous copies: the same draws give bit-identical results however they were loaded
        return {name: np.ascontiguousarray(post[name].stack(sample=("chain", "draw")).transpose("sample", ...).values)
                for name in post.data_vars}

    def predict_components(
        self,
        dates: pd.DatetimeIndex,
        spend: np.ndarray,
        controls: np.ndarray,
        history: np.ndarray | None = None,
        params: dict[str, np.ndarray] | None = None,
    ) -> dict[str, np.ndarray]:
        """Posterior draws of each component (currency per period): arrays (draw, time[, channel]).

        spend is (time, channel) in currency; history is the spend of the periods just before
        (carry-in). Pass `params` to reuse or thin the draws.
        """
        self._require_fit()
        params = self.posterior_params() if params is None else params
        feats = self._features(pd.DatetimeIndex(dates), spend, controls, history)
        parts = components(params, feats, self.config.model, np)
        scale = self.scaling.target
        out = {k: np.asarray(v) * scale for k, v in parts.items()}
        out["mean"] = mean_prediction(parts) * scale
        return out

    def in_sample_components(self, params: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
        """Components over every period of the data (training and any holdout)."""
        d = self.data
        return self.predict_components(d.dates, d.spend, d.controls, params=params)

    def noise_scale(self, params: dict[str, np.ndarray] | None = None) -> np.ndarray:
        """Posterior draws of the residual standard deviation, in currency per period."""
        params = self.posterior_params() if params is None else params
        return params["sigma"] * self.scaling.target

    def sample_observations(self, mean: np.ndarray, seed: int, params: dict[str, Any] | None = None) -> np.ndarray:
        """Posterior predictive draws (draw, time) around predicted means, in currency."""
        params = self.posterior_params() if params is None else params
        rng = np.random.default_rng(seed)
        sigma = self.noise_scale(params)[:, None]
        if "nu" in params:
            return mean + sigma * rng.standard_t(params["nu"][:, None], size=mean.shape)
        return mean + sigma * rng.standard_normal(mean.shape)
