"""The model fingerprint under which a compiled sampler is remembered: equal only for models that compute the same thing."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pymc as pm
from pymc.model.transform.optimization import freeze_dims_and_data

from mmm.model.graph_key import model_key


def _model(data: np.ndarray, prior_sigma: float = 1.0, likelihood: str = "normal", frozen: bool = True) -> pm.Model:
    with pm.Model(coords={"date": np.arange(len(data))}) as model:
        x = pm.Data("x", data, dims="date")
        slope = pm.HalfNormal("slope", sigma=prior_sigma)
        noise = pm.HalfNormal("noise", sigma=1.0)
        if likelihood == "normal":
            pm.Normal("y", mu=slope * x, sigma=noise, observed=pm.Data("y_obs", 2 * data, dims="date"), dims="date")
        else:
            pm.StudentT("y", nu=4, mu=slope * x, sigma=noise, observed=2 * data, dims="date")
    return freeze_dims_and_data(model) if frozen else model


DATA = np.linspace(0.0, 1.0, 20)


def test_the_same_model_built_twice_has_one_fingerprint():
    assert model_key(_model(DATA), "ctx") == model_key(_model(DATA.copy()), "ctx")
    assert model_key(_model(DATA), "ctx") is not None


def test_a_change_to_data_prior_likelihood_or_context_changes_the_fingerprint():
    base = model_key(_model(DATA), "ctx")
    changed = DATA.copy()
    changed[7] += 1e-9
    others = [
        model_key(_model(changed), "ctx"),
        model_key(_model(DATA, prior_sigma=2.0), "ctx"),
        model_key(_model(DATA, likelihood="student"), "ctx"),
        model_key(_model(DATA[:-1]), "ctx"),
        model_key(_model(DATA), "other ctx"),
    ]
    assert base not in others and len(set(others)) == len(others)


def test_data_left_as_inputs_count_by_type_not_values():
    """Unfrozen data reach the compiled code at run time: other values or another length share the fingerprint."""

    def unfrozen(data: np.ndarray) -> pm.Model:
        return freeze_dims_and_data(_model(data, frozen=False), dims=[], data=[])

    base = model_key(unfrozen(DATA), "ctx")
    assert base is not None
    assert model_key(unfrozen(DATA * 3.0), "ctx") == base
    assert model_key(unfrozen(np.linspace(0.0, 1.0, 31)), "ctx") == base
    assert model_key(freeze_dims_and_data(_model(DATA, prior_sigma=2.0, frozen=False), dims=[], data=[]), "ctx") != base


def test_a_model_holding_something_without_a_stable_description_has_no_fingerprint():
    from pymc.logprob.transforms import LogTransform

    opaque = LogTransform()
    opaque.__dict__["clip"] = lambda value: value  # a setting known only by its address
    with pm.Model() as model:
        pm.HalfNormal("scale", sigma=1.0, default_transform=opaque)
    assert model_key(freeze_dims_and_data(model), "ctx") is None


def test_the_fingerprint_is_the_same_in_another_process():
    script = (
        "import sys; sys.path.insert(0, 'tests'); import numpy as np; from test_graph_key import _model, DATA;"
        "from mmm.model.graph_key import model_key; print(model_key(_model(DATA), 'ctx'))"
    )
    other = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert other.stdout.strip() == model_key(_model(DATA), "ctx")


class _Scaled:
    def __init__(self, factor: float) -> None:
        self.factor = factor

    def apply(self, value: float) -> float:
        return self.factor * value


def test_settings_are_described_by_what_they_hold_not_only_by_their_name():
    from functools import partial

    from mmm.model.graph_key import _describe

    assert _describe(partial(round, ndigits=1), 0) != _describe(partial(round, ndigits=2), 0)
    assert _describe(_Scaled(1.0).apply, 0) != _describe(_Scaled(2.0).apply, 0)
    assert _describe(_Scaled(1.0).apply, 0) == _describe(_Scaled(1.0).apply, 0)
    assert _describe(np.exp, 0) == _describe(np.exp, 0)
