"""R-hat and ESS computed for every quantity at once give ArviZ's figures, edge cases included."""

from __future__ import annotations

import arviz as az
import numpy as np
import pytest

from mmm.model.convergence import convergence


def _ar1(rng: np.random.Generator, chains: int, draws: int, shape: tuple[int, ...], phi: float) -> np.ndarray:
    """Autocorrelated chains (chain, draw, *shape): each draw phi times the last plus noise."""
    noise = rng.normal(size=(chains, draws, *shape))
    x = np.zeros_like(noise)
    for t in range(draws):
        x[:, t] = (phi * x[:, t - 1] if t else 0.0) + noise[:, t]
    return x


@pytest.mark.parametrize(("chains", "draws"), [(4, 200), (4, 501), (2, 57), (1, 120), (8, 4)])
def test_rhat_and_ess_match_arviz(chains: int, draws: int) -> None:
    rng = np.random.default_rng(chains * 1000 + draws)
    draws_by_name = {
        "sticky": _ar1(rng, chains, draws, (3,), 0.9),
        "independent": rng.normal(size=(chains, draws)),
        "constant": np.ones((chains, draws, 2)),
        "ties": rng.integers(0, 3, size=(chains, draws)).astype(float),
        "apart": _ar1(rng, chains, draws, (2, 2), 0.3) + np.arange(chains)[:, None, None, None],  # chains disagree
        "gap": rng.normal(size=(chains, draws, 2)),
    }
    draws_by_name["gap"][0, 1, 1] = np.nan
    posterior = az.convert_to_dataset(draws_by_name)
    got = convergence(draws_by_name)
    expected = (az.rhat(posterior), az.ess(posterior, method="bulk"), az.ess(posterior, method="tail"))
    for mine, theirs in zip(got, expected, strict=True):
        for name in draws_by_name:
            assert mine[name].shape == theirs[name].shape
            np.testing.assert_allclose(mine[name], theirs[name].values, rtol=1e-9, equal_nan=True, err_msg=name)
    assert np.isnan(got.ess_bulk["gap"][1]) and np.isfinite(got.ess_bulk["gap"][0])
    if chains > 1:
        assert got.rhat["apart"].min() > 1.1 and got.rhat["independent"] < 1.1


def test_too_few_draws_give_no_figures() -> None:
    got = convergence({"x": np.zeros((4, 3, 2))})
    assert all(np.isnan(values["x"]).all() for values in got)
