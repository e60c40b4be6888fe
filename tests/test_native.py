"""A model's log density and gradient compiled from C (mmm.model.native) equal PyTensor's, for every form of model."""

from __future__ import annotations

import ctypes
from pathlib import Path

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt
import pytest
from pymc.model.transform.optimization import freeze_dims_and_data
from pytensor.graph.fg import FunctionGraph
from pytensor.tensor.basic import AllocEmpty
from pytensor.tensor.blas import Gemv

import mmm.model.sampling as sampling
from mmm.config import load_config, with_overrides
from mmm.data.lifts import read_lifts
from mmm.data.loading import load_data
from mmm.model import compiled as compiled_module
from mmm.model import native
from mmm.model.compiled import compile_model
from mmm.model.estimator import MarketingMixModel
from mmm.simulation.geo_scenarios import is_geo_scenario, write_geo_scenario
from mmm.simulation.scenarios import write_scenario

NEEDS_CC = pytest.mark.skipif(native.compiler() is None, reason="no C compiler on this machine: models compile with numba")
LOGP_CALL = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_uint64, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p)
FORMS = {
    "national, calibrated by lift tests": ("clean", {}, ["search", "social"]),
    "logistic, Weibull adstock, Student-t, flexible trend, media seasons": (
        "clean",
        {
            "model.saturation": "logistic",
            "model.adstock": "weibull",
            "model.likelihood": "student_t",
            "model.trend": "flexible",
            "model.media_seasonality": True,
            "model.hill_slope": "free",
        },
        [],
    ),
    "conversions (negative binomial)": ("conversions", {}, []),
    "regions, calibrated by a lift test": ("geo_3x52x2", {}, ["search"]),
}


class BuiltError(Exception):
    """Stops a fit once its PyMC model is built, carrying it."""

    def __init__(self, model: pm.Model):
        self.model = model


def _pymc_model(scenario: str, overrides: dict, lift_channels: list[str], folder: Path, monkeypatch: pytest.MonkeyPatch) -> pm.Model:
    """The PyMC model `mmm fit` builds for the scenario's data and config (with `overrides`), without sampling it."""
    write = write_geo_scenario if is_geo_scenario(scenario) else write_scenario
    paths = write(scenario, folder, seed=1, lift_channels=lift_channels or None)
    cfg = with_overrides(load_config(paths["config"]), overrides)
    lifts = read_lifts(paths["lifts"], load_data(cfg)) if lift_channels else None

    def built(model: pm.Model, *args: object, **kwargs: object) -> None:
        raise BuiltError(model)

    monkeypatch.setattr(sampling, "compile_model", built)
    with pytest.raises(BuiltError) as stopped:
        MarketingMixModel(cfg).fit(lifts=lifts)
    monkeypatch.undo()
    return stopped.value.model


@NEEDS_CC
@pytest.mark.parametrize("form", list(FORMS))
def test_each_form_of_model_compiles_from_c_to_pytensors_log_density_and_gradient(form, tmp_path, monkeypatch):
    """At random points about the sampler's starting points: the same log density and gradient as PyTensor's own (to rounding), and where PyTensor's are not
    finite, the code that makes the sampler try elsewhere."""
    model = _pymc_model(*FORMS[form], tmp_path, monkeypatch)
    monkeypatch.setattr(compiled_module, "_recall", lambda key: None)  # compiled here, whatever the machine's cache holds
    names = [rv.name for rv in model.free_RVs]
    compiled = compile_model(model, names, None, None, {"backend": "numba", "gradient_backend": "pytensor"})
    assert isinstance(compiled.compiled_logp_func, native.NativeFunction)  # written in C, not left to numba
    frozen = freeze_dims_and_data(model)
    reference = frozen.logp_dlogp_function(ravel_inputs=True, mode=pytensor.compile.mode.Mode(linker="py", optimizer="fast_compile"))
    reference.set_extra_values({})
    # the compiled draw's layout (its parameters' order) need not be the reference's: each point is laid out for both
    names, slices, _ = compiled.shape_info
    where = dict(zip(names, slices, strict=False))
    order = [where[value.name] for value in reference._grad_vars]
    logp_c = LOGP_CALL(compiled.compiled_logp_func.address)
    rng = np.random.default_rng(0)
    n = compiled.n_dim
    start = frozen.initial_point()
    finite = 0
    for _ in range(8):
        point = np.zeros(n)
        for name, cut in zip(names, slices, strict=False):
            if name in start:
                point[cut] = np.ravel(start[name]) + rng.normal(size=cut.stop - cut.start) * 0.3
        grad, logp = np.zeros(n), np.zeros(1)
        code = logp_c(n, point.ctypes.data, grad.ctypes.data, logp.ctypes.data, compiled.user_data.ctypes.data)
        expected_logp, reference_grad = reference(np.concatenate([point[cut] for cut in order]))
        expected_grad = np.zeros(n)
        at = 0
        for cut in order:
            expected_grad[cut] = reference_grad[at : at + cut.stop - cut.start]
            at += cut.stop - cut.start
        if not (np.isfinite(expected_logp) and np.all(np.isfinite(expected_grad))):
            assert code in (3, 4)  # a non-finite gradient (3) or log density (4): nutpie's codes for "try elsewhere"
        else:
            assert code == 0
            finite += 1
            np.testing.assert_allclose(logp[0], expected_logp, rtol=1e-10)
            np.testing.assert_allclose(grad, expected_grad, rtol=1e-9, atol=1e-9 * np.max(np.abs(expected_grad)))
    assert finite >= 6


def _library(fgraph: FunctionGraph, tmp_path: Path) -> native.NativeFunction:
    source = native.library_source([native.function_source(fgraph, [], native.LOGP)])
    path = native.library_path(tmp_path, source)
    assert native.build(source, path)
    loaded = native.load(path, native.LOGP)
    assert loaded is not None
    return loaded


@NEEDS_CC
def test_slices_reshuffles_and_integer_division_follow_python(tmp_path):
    """Slices with negative, missing and out-of-range bounds and steps, and integer division and remainder of
    negative numbers, give what numpy gives (C rounds towards zero; Python towards minus infinity)."""
    x = pt.dvector("x")
    forms = [slice(None, None, -1), slice(-3, 1, -1), slice(1, None, 2), slice(-100, 100), slice(5, 2), slice(None, -2, -3)]
    weights = [1.0, 10.0, 100.0, 1000.0, 1e4, 1e5]
    logp = sum(w * x[form].sum() for w, form in zip(weights, forms, strict=True))
    logp = logp + pt.floor_div(pt.as_tensor(np.int64(-7)), pt.as_tensor(np.int64(2))) * 1e6
    logp = logp + pt.mod(pt.as_tensor(np.int64(-7)), pt.as_tensor(np.int64(3))) * 1e7
    grad = pt.concatenate([x[::-1][:2], x.dimshuffle("x", 0).T[:2, 0] * 2.0, x[4:]])
    fn = _library(FunctionGraph([x], [logp, grad], clone=True), tmp_path)
    point = np.arange(1.0, 8.0)
    out, value = np.zeros(7), np.zeros(1)
    table = np.array([7, 7], dtype=np.uint64)
    assert LOGP_CALL(fn.address)(7, point.ctypes.data, out.ctypes.data, value.ctypes.data, table.ctypes.data) == 0
    expected = sum(w * point[form].sum() for w, form in zip(weights, forms, strict=True)) + (-7 // 2) * 1e6 + (-7 % 3) * 1e7
    assert value[0] == expected
    np.testing.assert_array_equal(out, np.concatenate([point[::-1][:2], point[:2] * 2.0, point[4:]]))


@NEEDS_CC
def test_a_matrix_vector_product_into_an_empty_array_follows_blas(tmp_path):
    """PyTensor's gemv, beta * y + alpha * A x, as its rewrites write it: y is not read when beta is 0 (it may be an
    uninitialised array, here NaN), and is scaled by beta otherwise."""
    x = pt.dvector("x")
    a = np.arange(21.0).reshape(3, 7) / 10.0
    empty = AllocEmpty("float64")(pt.as_tensor(np.int64(3)))
    unread = Gemv(False)(pt.as_tensor(np.full(3, np.nan)), pt.as_tensor(2.0), pt.as_tensor(a), x, pt.as_tensor(0.0))
    scaled = Gemv(False)(empty + 1.0, pt.as_tensor(0.5), pt.as_tensor(a), x, pt.as_tensor(3.0))
    fn = _library(FunctionGraph([x], [unread.sum() + 10.0 * scaled.sum(), x * 1.0], clone=True), tmp_path)
    point = np.arange(1.0, 8.0)
    out, value = np.zeros(7), np.zeros(1)
    table = np.array([7, 7], dtype=np.uint64)
    assert LOGP_CALL(fn.address)(7, point.ctypes.data, out.ctypes.data, value.ctypes.data, table.ctypes.data) == 0
    np.testing.assert_allclose(value[0], (2.0 * a @ point).sum() + 10.0 * (3.0 * 1.0 + 0.5 * a @ point).sum(), rtol=1e-14)


def test_an_operation_not_written_in_c_is_said_so_and_left_to_numba():
    """A graph holding an operation this module does not write (here a cumulative sum) is refused, and the model is then
    compiled by numba (the fallback the compile-cache test runs without a C compiler)."""
    x = pt.dvector("x")
    fgraph = FunctionGraph([x], [x.sum(), pt.cumsum(x)], clone=True)
    with pytest.raises(native.UnsupportedError, match="Cumsum"):
        native.function_source(fgraph, [], native.LOGP)
