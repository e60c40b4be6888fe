"""Numba code for scalar functions PyTensor compiles in a way that cannot be cached, so a model using them is cacheable.

PyTensor compiles the digamma function (psi, the derivative of log-gamma) as a call through a
pointer into SciPy's compiled code, and numba cannot cache a function that does that. Its
gradient appears in every model with a fitted shape parameter of a count or heavy-tailed
likelihood (the negative binomial's overdispersion for conversions, the Student-t's degrees of
freedom), so such a model's compiled code had no cache key and every fit compiled it again
(about 35 s). `register` puts a plain numba implementation with a cache key in its place.
"""

from __future__ import annotations

import math
from functools import cache

from pytensor.link.numba.dispatch.basic import numba_njit, register_funcify_and_cache_key
from pytensor.link.numba.dispatch.scalar import scalar_op_cache_key
from pytensor.scalar.math import Psi

IMPLEMENTATION = "mmm digamma 1"  # part of the cache key: change it when the code below changes
SHIFT = 10.0  # the asymptotic series is used from here on, where its first omitted term is below 1e-15
# B_2k / (2k) (Bernoulli numbers) of the asymptotic series of digamma in powers of 1 / x^2, the last first (Horner's order)
SERIES_LAST_FIRST = (1 / 12, -691 / 32760, 1 / 132, -1 / 240, 1 / 252, -1 / 120, 1 / 12)


def digamma(x: float) -> float:
    """psi(x) = d/dx log Gamma(x), as scipy.special.psi gives it (relative error about 1e-15).

    Poles (0 and the negative integers): -inf at 0, NaN at the negative integers, as SciPy.
    """
    if math.isnan(x) or x == -math.inf:
        return math.nan
    if x == math.inf:
        return math.inf
    if x == 0.0:
        return -math.inf
    result = 0.0
    if x < 0.0:
        if x == math.floor(x):
            return math.nan
        # reflection, psi(x) = psi(1 - x) - pi / tan(pi x), with tan's period taken out first: exact, unlike pi x for large x
        result = -math.pi / math.tan(math.pi * (x - round(x)))
        x = 1.0 - x
    while x < SHIFT:  # recurrence: psi(x) = psi(x + 1) - 1 / x
        result -= 1.0 / x
        x += 1.0
    inv2 = 1.0 / (x * x)
    tail = 0.0
    for c in SERIES_LAST_FIRST:
        tail = tail * inv2 + c
    return result + math.log(x) - 0.5 / x - tail * inv2


@cache  # once per process: each registration would be a new numba function to compile
def register() -> None:
    """Have PyTensor's numba backend compile digamma from `digamma`, with a cache key (from then on, in this process)."""
    compiled = numba_njit(digamma)

    def numba_psi(op: Psi, node: object, **kwargs: object) -> tuple[object, str]:
        return compiled, scalar_op_cache_key(op, implementation=IMPLEMENTATION)

    register_funcify_and_cache_key(Psi)(numba_psi)
