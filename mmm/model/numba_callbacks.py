"""nutpie's C callbacks compiled by numba, for a model whose graph is not written in C (mmm.model.native) or on a
machine without a C compiler: the callbacks are generated as source with the compiled PyTensor function as a
global and cached in PyTensor's numba cache, keyed on PyTensor's own hash of the graph (nutpie builds them as
closures, which numba cannot cache)."""

from __future__ import annotations

import warnings
from hashlib import sha256
from typing import Any

import numpy as np

CACHE_VERSION = "mmm-nutpie-5"  # bump when the callbacks' source changes

# nutpie's contract for the callbacks: 0 ok, 3 non-finite gradient, 4 non-finite log density
# (both make the sampler try elsewhere), 1 any other error, -1 wrong dimension, -2 expansion failed.
# The numbers of parameters and kept values are the user data's first two entries, not constants in
# the code: one compiled model serves models of any size (mmm.model.open_sizes).
LOGP_SOURCE = """
def mmm_logp(dim, x_, out_, logp_, user_data_):
    table = numba.carray(user_data_, ({size},), np.uint64)
    if dim != table[0]:
        return -1
{data}    try:
        x = numba.carray(x_, (np.intp(dim),))
        out = numba.carray(out_, (np.intp(dim),))
        logp = numba.carray(logp_, ())
        logp_val, grad = inner(x{args})
        logp[()] = logp_val
        out[...] = grad
        if not np.all(np.isfinite(out)):
            return 3
        if not np.isfinite(logp_val):
            return 4
    except Exception:
        return 1
    return 0
"""

EXPAND_SOURCE = """
def mmm_expand(dim, expanded, x_, out_, user_data_):
    table = numba.carray(user_data_, ({size},), np.uint64)
    if dim != table[0] or expanded != table[1]:
        return -1
{data}    try:
        x = numba.carray(x_, (np.intp(dim),))
        out = numba.carray(out_, (np.intp(expanded),))
        (values,) = inner(x{args})
        out[...] = values
    except Exception:
        return -2
    return 0
"""


def numba_callbacks(
    keys: tuple[str, str],
    names: tuple[list[str], list[str]],
    data: dict[str, np.ndarray],
    table: np.ndarray,
    offsets: dict[str, int],
    functions: tuple[Any, Any] | None,
) -> tuple[Any, Any] | None:
    """nutpie's log density and expansion callbacks, compiled from `functions` (PyTensor's, numba mode) or, when None,
    loaded from the numba cache under `keys` (their graphs' keys; None: not there). `names`: the data each function
    takes after the parameters, read from nutpie's user-data `table` at `offsets`."""
    import numba

    logp_fn, expand_fn = functions or (_not_compiled, _not_compiled)
    try:
        logp_source = _with_data(LOGP_SOURCE, names[0], data, table.size, offsets)
        logp = _cached_cfunc(logp_source, "mmm_logp", _inner(logp_fn), keys[0], _logp_signature())
        expand_source = _with_data(EXPAND_SOURCE, names[1], data, table.size, offsets)
        expand = _cached_cfunc(expand_source, "mmm_expand", _inner(expand_fn), keys[1], _expand_signature())
    except numba.core.errors.TypingError:
        if functions is not None:
            raise
        return None  # not in the cache: typing the stand-in for the graph's function failed
    return logp, expand


def _with_data(template: str, names: list[str], data: dict[str, np.ndarray], size: int, offsets: dict[str, int]) -> str:
    """A callback's source that reads the named data from the table (`size` entries) and passes them to the compiled
    function after the parameters."""
    # outside the callback's try block: numba's compile time grows steeply with each statement inside one
    lines: list[str] = []
    for i, name in enumerate(names):
        value, at = data[name], offsets[name]
        shape = "".join(f"np.intp(table[{at + 1 + axis}])," for axis in range(value.ndim))
        lines.append(f"    d{i} = numba.carray(address(table[{at}]), ({shape}), np.{value.dtype.name})\n")
    return template.format(size=size, data="".join(lines), args="".join(f", d{i}" for i in range(len(names))))


def _not_compiled(*args: Any) -> Any:
    """Stands in for a graph's compiled function when its callback is loaded from the cache; numba cannot compile a call to it."""
    raise RuntimeError("the model's compiled code was not found in the cache")


def _inner(fn: Any) -> Any:
    return fn if fn is _not_compiled else fn.vm.jit_fn


def graph_key(fn: Any) -> str | None:
    """PyTensor's cache key of a compiled function's graph, or None when it has none."""
    from pytensor.link.numba.cache import CACHED_SRC_FUNCTIONS

    return CACHED_SRC_FUNCTIONS.get(fn.vm.jit_fn.py_func)


def _cached_cfunc(source: str, name: str, inner: Any, graph_key: str, signature: Any) -> Any:
    """A numba C callback compiled from `source`, calling `inner`, cached under a key of the graph and the source."""
    import numba
    from nutpie.compile_pymc import address_as_void_pointer
    from pytensor.link.numba.cache import compile_numba_function_src

    key = sha256(f"{CACHE_VERSION}|{name}|{graph_key}|{numba.__version__}|{source}".encode()).hexdigest()
    raw = compile_numba_function_src(
        source,
        name,
        global_env={
            "__name__": __name__,
            "numba": numba,
            "np": np,
            "inner": inner,
            "address": address_as_void_pointer,
        },
        cache_key=key,
    )
    with warnings.catch_warnings():
        # a graph holding large constant arrays cannot be cached: it is then compiled each time
        warnings.filterwarnings("ignore", message=".*Cannot cache compiled function", category=numba.NumbaWarning)
        return numba.cfunc(signature, cache=True)(raw)


def _logp_signature() -> Any:
    from numba import types

    return types.int64(
        types.uint64, types.CPointer(types.double), types.CPointer(types.double), types.CPointer(types.double), types.voidptr
    )


def _expand_signature() -> Any:
    from numba import types

    return types.int64(types.uint64, types.uint64, types.CPointer(types.double), types.CPointer(types.double), types.voidptr)
