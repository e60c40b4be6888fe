"""The Python API: transforms, fitting, save/load, and recovery of simulated truth."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytensor.tensor as pt
import pytest
import xarray as xr

from mmm.analysis.results import FitSummary
from mmm.analysis.summary import fit_summary
from mmm.config import load_config, with_overrides
from mmm.core.errors import MMMError
from mmm.model.estimator import MarketingMixModel
from mmm.model.sampling import Diagnostics
from mmm.simulation.scenarios import write_scenario
from mmm.transforms import ADSTOCKS, SATURATIONS, MediaTransform, carry, lagged
from mmm.transforms.adstock import GeometricAdstock, WeibullAdstock
from mmm.transforms.saturation import HillSaturation, LogisticSaturation

L_MAX = 8


def geometric_weights(alpha: Any, l_max: int) -> Any:
    return GeometricAdstock().weights({"adstock_alpha": alpha}, l_max, np)


def hill(x: Any, half_saturation: Any, slope: Any | None) -> Any:
    params = {"half_saturation": half_saturation} | ({} if slope is None else {"hill_slope": slope})
    return HillSaturation(free_slope=slope is not None).saturate(x, params, np)


def media(adstock_kind: str, saturation_kind: str, params: dict[str, Any]) -> MediaTransform:
    hill_slope = "free" if "hill_slope" in params else "fixed"
    return MediaTransform.from_options({"adstock": adstock_kind, "saturation": saturation_kind, "l_max": L_MAX, "hill_slope": hill_slope})


# --- transforms (no sampling) ----------------------------------------------------------------


def test_registries_hold_the_built_in_components():
    assert ADSTOCKS["geometric"] is GeometricAdstock and ADSTOCKS["weibull"] is WeibullAdstock
    assert SATURATIONS["hill"] is HillSaturation and SATURATIONS["logistic"] is LogisticSaturation
    assert SATURATIONS.build("hill", {"hill_slope": "free"}).free_slope is True
    assert SATURATIONS.build("hill", {"hill_slope": "fixed"}).free_slope is False
    with pytest.raises(KeyError, match="unknown saturation 'tanh'; known: hill, logistic"):
        SATURATIONS.build("tanh")
    with pytest.raises(ValueError, match="registered twice"):
        ADSTOCKS.register(GeometricAdstock)


def test_media_transform_from_options_lists_each_components_parameters():
    m = MediaTransform.from_options({"adstock": "weibull", "saturation": "hill", "l_max": 5, "hill_slope": "free"})
    assert isinstance(m.adstock, WeibullAdstock) and isinstance(m.saturation, HillSaturation)
    assert m.l_max == 5
    assert [p.name for p in m.params] == ["adstock_shape", "adstock_scale", "half_saturation", "hill_slope"]
    fixed = MediaTransform.from_options({"adstock": "geometric", "saturation": "hill", "l_max": 8})
    assert [p.name for p in fixed.params] == ["adstock_alpha", "half_saturation"]
    with pytest.raises(KeyError, match="adstock_alpha"):
        fixed.adstock.check({"half_saturation": 1.0})


def test_geometric_weights_sum_to_one_and_decay():
    alpha = np.array([0.1, 0.5, 0.9])
    w = geometric_weights(alpha, L_MAX)
    assert w.shape == (L_MAX, 3)
    np.testing.assert_allclose(w.sum(axis=0), 1.0)
    assert np.all(np.diff(w, axis=0) < 0)
    np.testing.assert_allclose(w[1] / w[0], alpha)  # each lag keeps alpha of the one before
    # a slower decay carries more weight into later lags
    assert w[-1, 2] > w[-1, 1] > w[-1, 0]


def test_geometric_weights_with_a_draw_axis():
    alpha = np.array([[0.2, 0.7], [0.4, 0.3]])
    w = geometric_weights(alpha, L_MAX)
    assert w.shape == (2, L_MAX, 2)
    np.testing.assert_allclose(w.sum(axis=-2), 1.0)
    np.testing.assert_allclose(w[1], geometric_weights(alpha[1], L_MAX))


def test_geometric_weights_without_carryover():
    w = geometric_weights(np.array([0.0]), 4)
    np.testing.assert_allclose(w[:, 0], [1.0, 0.0, 0.0, 0.0])


def test_weibull_weights_sum_to_one():
    w = WeibullAdstock().weights({"adstock_shape": np.array([0.8, 3.0]), "adstock_scale": np.array([1.5, 4.0])}, L_MAX, np)
    assert w.shape == (L_MAX, 2)
    np.testing.assert_allclose(w.sum(axis=0), 1.0)
    assert np.all(w >= 0)


def test_lagged_stacks_lags_and_starts_from_zero():
    spend = np.arange(1.0, 11.0).reshape(5, 2)
    out = lagged(spend, 3)
    assert out.shape == (5, 3, 2)
    for t in range(5):
        for lag in range(3):
            expected = spend[t - lag] if t - lag >= 0 else np.zeros(2)
            np.testing.assert_array_equal(out[t, lag], expected)


def test_lagged_with_history_gives_carry_in():
    spend = np.zeros((6, 1))
    history = np.array([[5.0], [7.0], [9.0]])  # oldest first; the last row is the period just before
    out = lagged(spend, 3, history)
    np.testing.assert_array_equal(out[0, :, 0], [0.0, 9.0, 7.0])
    np.testing.assert_array_equal(out[1, :, 0], [0.0, 0.0, 9.0])
    np.testing.assert_array_equal(out[2:], 0.0)
    # zero spend in the window still carries over what was spent before it
    carried = carry(out, geometric_weights(np.array([0.5]), 3))
    assert carried[0, 0] > carried[1, 0] > 0
    np.testing.assert_array_equal(carried[2:], 0.0)
    # without history nothing carries in
    assert np.all(carry(lagged(spend, 3), geometric_weights(np.array([0.5]), 3)) == 0)


def test_lagged_with_short_history_pads_with_zeros():
    out = lagged(np.zeros((2, 1)), 4, np.array([[3.0]]))
    np.testing.assert_array_equal(out[0, :, 0], [0.0, 3.0, 0.0, 0.0])


def test_adstock_of_steady_spend_is_that_spend():
    spend = np.full((20, 2), 4.0)
    carried = carry(lagged(spend, L_MAX), geometric_weights(np.array([0.3, 0.8]), L_MAX))
    np.testing.assert_allclose(carried[L_MAX - 1 :], 4.0)  # weights sum to one
    assert np.all(carried[: L_MAX - 1] <= 4.0 + 1e-12)


@pytest.mark.parametrize("slope", [None, np.array([0.5, 1.0, 2.5])])
def test_hill_curve(slope):
    k = np.array([0.5, 1.0, 2.0])
    x = np.linspace(0, 10, 201)[:, None] * np.ones(3)
    y = hill(x, k, slope)
    np.testing.assert_allclose(y[0], 0.0)
    assert np.all(np.diff(y, axis=0) > 0)
    assert np.all((y >= 0) & (y < 1))
    np.testing.assert_allclose(hill(k[None, :], k, slope), 0.5)


def test_logistic_curve():
    lam = np.array([0.5, 2.0])
    x = np.linspace(0, 10, 101)[:, None] * np.ones(2)
    y = LogisticSaturation().saturate(x, {"logistic_lam": lam}, np)
    np.testing.assert_allclose(y[0], 0.0)
    assert np.all(np.diff(y, axis=0) > 0)
    assert np.all((y >= 0) & (y < 1))


SATURATION_CASES = [
    ("hill", {"hill_slope": "fixed"}, {"half_saturation": np.array([0.7, 1.3])}),
    ("hill", {"hill_slope": "free"}, {"half_saturation": np.array([0.7, 1.3]), "hill_slope": np.array([0.8, 2.0])}),
    ("logistic", {}, {"logistic_lam": np.array([0.6, 2.0])}),
]


def test_every_registered_saturation_has_a_slope_case():
    assert {name for name, _, _ in SATURATION_CASES} == set(SATURATIONS)


@pytest.mark.parametrize("kind,options,params", SATURATION_CASES, ids=["hill-fixed", "hill-free", "logistic"])
def test_saturation_slope_is_the_derivative(kind, options, params):
    sat = SATURATIONS.build(kind, options)
    x = np.linspace(0.05, 4.0, 40)[:, None] * np.ones(2)
    h = 1e-6
    numeric = (sat.saturate(x + h, params, np) - sat.saturate(x - h, params, np)) / (2 * h)
    slope = sat.slope(x, params)
    assert slope.shape == x.shape and np.isrealobj(slope)
    assert np.all(slope > 0)  # every curve rises with spend
    np.testing.assert_allclose(slope, numeric, rtol=1e-5, atol=1e-8)
    # with a draw axis, each draw's slope is that draw's parameters alone
    drawn = {k: np.stack([v, 1.5 * v]) for k, v in params.items()}
    both = sat.slope(x, drawn)
    assert both.shape == (2, *x.shape)
    np.testing.assert_allclose(both[1], sat.slope(x, {k: v[1] for k, v in drawn.items()}))


def _spend(rng: np.random.Generator, periods: int = 30, channels: int = 3) -> np.ndarray:
    on = rng.random((periods, channels)) > 0.3
    return rng.lognormal(0, 0.5, (periods, channels)) * on


@pytest.mark.parametrize(
    "adstock_kind,saturation_kind,params",
    [
        ("geometric", "hill", {"adstock_alpha": [0.1, 0.5, 0.9], "half_saturation": [0.5, 1.0, 2.0]}),
        ("geometric", "hill", {"adstock_alpha": [0.1, 0.5, 0.9], "half_saturation": [0.5, 1.0, 2.0], "hill_slope": [0.7, 1.0, 2.5]}),
        ("geometric", "logistic", {"adstock_alpha": [0.3, 0.6, 0.0], "logistic_lam": [0.5, 1.5, 3.0]}),
        ("weibull", "hill", {"adstock_shape": [0.7, 1.5, 3.0], "adstock_scale": [1.0, 2.0, 4.0], "half_saturation": [0.8, 1.0, 1.2]}),
        ("weibull", "logistic", {"adstock_shape": [0.7, 1.5, 3.0], "adstock_scale": [1.0, 2.0, 4.0], "logistic_lam": [1.0, 2.0, 0.5]}),
    ],
)
def test_media_response_numpy_and_pytensor_agree(adstock_kind, saturation_kind, params):
    rng = np.random.default_rng(3)
    lagged_spend = lagged(_spend(rng), L_MAX)
    np_params = {k: np.asarray(v, dtype=float) for k, v in params.items()}
    transform = media(adstock_kind, saturation_kind, np_params)
    expected = transform.response(lagged_spend, np_params, np)
    pt_params = {k: pt.as_tensor_variable(v) for k, v in np_params.items()}
    got = transform.response(pt.as_tensor_variable(lagged_spend), pt_params, pt).eval()
    assert expected.shape == (30, 3)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)
    assert np.all((expected >= 0) & (expected < 1))


def test_media_response_numpy_and_pytensor_agree_with_draws():
    rng = np.random.default_rng(4)
    lagged_spend = lagged(_spend(rng), L_MAX)
    np_params = {
        "adstock_alpha": rng.uniform(0.05, 0.95, (5, 3)),
        "half_saturation": rng.lognormal(0, 0.5, (5, 3)),
        "hill_slope": rng.lognormal(0, 0.3, (5, 3)),
    }
    transform = media("geometric", "hill", np_params)
    expected = transform.response(lagged_spend, np_params, np)
    assert expected.shape == (5, 30, 3)
    pt_params = {k: pt.as_tensor_variable(v) for k, v in np_params.items()}
    got = transform.response(pt.as_tensor_variable(lagged_spend), pt_params, pt).eval()
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)
    # each draw is the same as evaluating that draw's parameters alone
    one = transform.response(lagged_spend, {k: v[2] for k, v in np_params.items()}, np)
    np.testing.assert_allclose(expected[2], one)


# --- fitting ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> dict[str, Any]:
    """The simulated `clean` scenario on disk: paths and truth."""
    paths = write_scenario("clean", tmp_path_factory.mktemp("clean"))
    return {"paths": paths, "truth": json.loads(paths["truth"].read_text())}


@pytest.fixture(scope="module")
def small_fit(clean) -> MarketingMixModel:
    """A short fit of `clean` (300 draws, 300 tuning steps, 2 chains)."""
    cfg = with_overrides(load_config(clean["paths"]["config"]), {"sampler.draws": 300, "sampler.tune": 300, "sampler.chains": 2})
    return MarketingMixModel(cfg).fit()


@pytest.fixture(scope="module")
def small_summary(small_fit) -> FitSummary:
    return fit_summary(small_fit)


def _same(a: Any, b: Any, path: str = "") -> None:
    """Recursive equality that treats NaN as equal to NaN and names the first difference."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), path
        for k in a:
            _same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, (list, tuple)):
        assert isinstance(b, (list, tuple)) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            _same(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and math.isnan(a):
        assert isinstance(b, float) and math.isnan(b), path
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


def test_fit_sets_up_the_model(small_fit, small_summary):
    m = small_fit
    assert m.channels == ["search", "social", "display"]
    assert m.n_train == 104
    post = m.idata.posterior
    assert post.sizes["chain"] == 2 and post.sizes["draw"] == 300
    assert {"roas", "adstock_alpha", "half_saturation", "sigma", "channel_coef", "intercept"} <= set(post.data_vars)
    assert isinstance(m.diagnostics, Diagnostics)
    assert small_summary.run_id is None
    assert small_summary.data.periods == 104
    assert m.train.n_periods == 104 and m.train.channels == m.channels
    assert isinstance(m.media, MediaTransform) and m.media.l_max == 8


def test_fit_results_have_named_dims(small_fit):
    m = small_fit
    draws = m.draws()
    assert draws.sizes["sample"] == 600
    assert draws["roas"].dims == ("sample", "channel")
    params = m.posterior_params()
    assert params["roas"].shape == (600, 3)
    np.testing.assert_array_equal(params["roas"], draws["roas"].values)
    train = m.train
    comps = m.predict_components(train.spend.sum("geo"), train.controls.mean("geo"))
    assert comps["media"].dims == ("sample", "date", "geo", "channel")
    assert comps["mean"].dims == ("sample", "date", "geo")
    assert list(comps["channel"].values) == m.channels and list(comps["geo"].values) == ["national"]
    # the parts add up to the mean prediction, in currency
    parts = sum(comps[k] for k in ("baseline", "trend", "seasonality", "controls")) + comps["media"].sum("channel")
    np.testing.assert_allclose(parts.values, comps["mean"].values, rtol=1e-9)
    assert float(comps["mean"].mean()) == pytest.approx(float(train.target.mean()), rel=0.1)
    # channels are matched by name, not position
    swapped = m.predict_components(train.spend.sum("geo").isel(channel=[2, 0, 1]), train.controls.mean("geo"))
    np.testing.assert_allclose(swapped["media"].values, comps["media"].values)


def test_save_and_load_round_trip(small_fit, small_summary, tmp_path):
    path = small_fit.save(tmp_path / "model.nc")
    assert path.is_file()
    loaded = MarketingMixModel.load(path)
    _same(fit_summary(loaded).to_json(), small_summary.to_json())
    assert loaded.config.model_dump() == small_fit.config.model_dump()
    assert loaded.n_train == small_fit.n_train
    assert loaded.scaling == small_fit.scaling
    assert loaded.diagnostics == small_fit.diagnostics
    xr.testing.assert_identical(loaded.data.inputs, small_fit.data.inputs)
    np.testing.assert_array_equal(loaded.data.spend_matrix(), small_fit.data.spend_matrix())
    np.testing.assert_array_equal(loaded.data.target_series(), small_fit.data.target_series())
    assert list(loaded.data.dates) == list(small_fit.data.dates)
    assert loaded.data.warnings == small_fit.data.warnings and loaded.data.notes == small_fit.data.notes


def test_load_rejects_a_file_that_is_not_a_model(tmp_path):
    path = tmp_path / "junk.nc"
    path.write_text("not netCDF")
    with pytest.raises(MMMError) as info:
        MarketingMixModel.load(path)
    assert "junk.nc" in str(info.value)


def test_unfitted_model_says_so(clean, tmp_path):
    m = MarketingMixModel(load_config(clean["paths"]["config"]))
    with pytest.raises(MMMError, match="not fitted"):
        m.save(tmp_path / "x.nc")


def test_small_fit_ranks_channels_like_the_truth(small_summary, clean):
    """Guards against priors that hand every channel the same return regardless of spend."""
    truth = {ch: v["roas"] for ch, v in clean["truth"]["channels"].items()}
    assert max(truth, key=truth.get) == "search" and truth["display"] == 0.6
    roas = {ch: c.roas.mean for ch, c in small_summary.channels.items()}
    assert max(roas, key=roas.get) == "search", roas
    assert roas["display"] < 1.5, roas
    assert roas["search"] > roas["social"] > 0 and roas["search"] > roas["display"]


@pytest.mark.slow
def test_default_fit_recovers_true_roas(clean):
    model = MarketingMixModel(load_config(clean["paths"]["config"])).fit()
    summary = fit_summary(model)
    assert summary.diagnostics.converged, summary.diagnostics.problems
    inside = {
        ch: summary.channels[ch].roas.low <= truth["roas"] <= summary.channels[ch].roas.high
        for ch, truth in clean["truth"]["channels"].items()
    }
    assert sum(inside.values()) >= 2, {ch: (summary.channels[ch].roas, inside[ch]) for ch in inside}
