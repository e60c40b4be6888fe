"""The digamma mmm gives PyTensor's numba backend: SciPy's values, and code numba can cache (so count and
Student-t models, whose gradients hold digamma, load from the compile cache instead of compiling every fit)."""

from __future__ import annotations

from fractions import Fraction

import numba
import numpy as np
import pytensor
import pytensor.tensor as pt
import scipy.special as sp
from pytensor.link.numba.dispatch.basic import numba_funcify_and_cache_key

from mmm.model.numba_scalars import digamma, register


def test_digamma_gives_scipys_values_with_its_poles_and_limits() -> None:
    compiled = numba.njit(digamma)
    xs = np.concatenate([np.logspace(-8, 8, 2001), -np.logspace(-3, 3, 501) - 0.25, np.linspace(-20.3, 20.3, 407)])
    for f in (digamma, compiled):
        got = np.array([f(float(x)) for x in xs])
        np.testing.assert_allclose(got, sp.psi(xs), rtol=1e-12, atol=1e-14)
        special = [0.0, -1.0, -7.0, np.inf, -np.inf, np.nan]
        np.testing.assert_array_equal([f(x) for x in special], sp.psi(special))


def test_digamma_is_exact_next_to_a_pole() -> None:
    """psi(x) = psi(x + 2) - 1/x - 1/(x + 1), with the two reciprocals taken exactly: next to -1 this beats SciPy."""
    x = -1.0 + 1e-9
    expected = float(Fraction(sp.psi(x + 2)) - 1 / Fraction(x) - 1 / (Fraction(x) + 1))
    assert abs(digamma(x) - expected) / abs(expected) < 1e-13


def test_pytensor_compiles_digamma_with_a_cache_key_and_the_same_values() -> None:
    register()
    x = pt.dvector("x")
    out = pt.psi(x)
    _, key = numba_funcify_and_cache_key(out.owner.op, node=out.owner)
    assert key is not None
    values = np.array([1e-3, 0.5, 1.0, 3.7, 250.0])
    f = pytensor.function([x], out, mode="NUMBA")
    np.testing.assert_allclose(f(values), sp.psi(values), rtol=1e-12)
