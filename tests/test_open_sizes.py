"""The compiled model's parameter sizes stay open: one compiled function serves any number of channels."""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytest
from pymc.initial_point import make_initial_point_fn
from pymc.model.transform.optimization import freeze_dims_and_data

from mmm.model.open_sizes import Shapes, open_functions, open_shapes


def _model(channels: int, simplex: bool = False) -> pm.Model:
    with pm.Model(coords={"channel": [f"c{i}" for i in range(channels)], "lag": range(3)}) as model:
        spend = pm.Data("spend", np.linspace(1.0, 2.0, channels), dims="channel")
        roas = pm.LogNormal("roas", 0.0, 1.0, dims="channel")
        pm.Normal("season", 0.0, 1.0, dims="lag")
        if simplex:
            pm.Dirichlet("weights", np.ones(3), dims="lag")
        pm.Normal("y", (roas * spend).sum(), 1.0, observed=3.0)
    return freeze_dims_and_data(model, dims=["lag"], data=[])


def _shapes(model: pm.Model) -> Shapes | None:
    start = make_initial_point_fn(model=model, return_transformed=True)
    return open_shapes(model, ["roas", "season"], start)


def test_a_draws_layout_follows_the_models_sizes() -> None:
    shapes = _shapes(_model(4))
    assert shapes is not None
    assert shapes.names == ["roas_log__", "season", "roas"]
    assert shapes.shapes == [(4,), (3,), (4,)]
    assert shapes.slices == [(0, 4), (4, 7), (7, 11)]
    assert (shapes.n_dim, shapes.n_expanded) == (7, 11)


def test_a_parameter_whose_transform_changes_its_shape_keeps_the_sizes_frozen() -> None:
    """A simplex has one number fewer on its sampled scale than its dimension: no open layout for it."""
    assert _shapes(_model(4, simplex=True)) is None


@pytest.mark.parametrize("linked", [True, False])
def test_one_compiled_function_gives_each_sizes_log_density_and_gradient(linked: bool) -> None:
    """Compiled for 2 channels, fed the data of 5: the same log density and gradient as PyMC's own for 5; the graphs
    left unlinked (run by Python, for the C compiler to take) give the same."""
    small, large = _model(2), _model(5)
    logp_fn, expand_fn = open_functions(small, ["roas"], linked=linked)
    for shared in [*logp_fn.get_shared(), *expand_fn.get_shared()]:  # the 5-channel model's data and its dimension's length
        shared.set_value(large.named_vars.get(shared.name, large.dim_lengths.get(shared.name)).get_value())
    point = np.random.default_rng(0).normal(size=8)  # 5 roas (log scale), 3 season
    logp, grad = logp_fn(point)
    values = {"roas_log__": point[:5], "season": point[5:]}
    expected = large.compile_logp()(values)
    np.testing.assert_allclose(logp, expected)
    np.testing.assert_allclose(grad, large.compile_dlogp()(values))
    (expanded,) = expand_fn(point)
    np.testing.assert_allclose(expanded, np.concatenate([point, np.exp(point[:5])]))
