"""The model compiled for nutpie, with its C callbacks cached on disk across runs and processes.

nutpie builds its numba C callbacks as closures, which numba cannot cache, so every fit used to
spend 5-15 s compiling them again. Here the same callbacks are generated as source with the
compiled PyTensor function as a global and cached in PyTensor's numba cache, keyed on PyTensor's
own hash of the graph (its structure, priors and the frozen data): a rerun of the same model
loads them in a fraction of a second, and any change to the model compiles afresh.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable
from hashlib import sha256
from typing import Any

import numpy as np
import pymc as pm

CACHE_VERSION = "mmm-nutpie-1"  # bump when the callbacks' source changes

# nutpie's contract for the callbacks: 0 ok, 3 non-finite gradient, 4 non-finite log density
# (both make the sampler try elsewhere), 1 any other error, -1 wrong dimension, -2 expansion failed.
LOGP_SOURCE = """
def mmm_logp(dim, x_, out_, logp_, user_data_):
    if dim != n_dim:
        return -1
    try:
        x = numba.carray(x_, (n_dim,))
        out = numba.carray(out_, (n_dim,))
        logp = numba.carray(logp_, ())
        logp_val, grad = inner(x)
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
    if dim != n_dim:
        return -1
    if expanded != n_expanded:
        return -1
    try:
        x = numba.carray(x_, (n_dim,))
        out = numba.carray(out_, (n_expanded,))
        (values,) = inner(x)
        out[...] = values
    except Exception:
        return -2
    return 0
"""


def compile_model(
    model: pm.Model,
    var_names: list[str],
    initial_points: dict[str, np.ndarray] | None,
    jitter_names: set[str] | None,
    backend: dict[str, str],
) -> Any:
    """nutpie's compiled model of `model` (data and dims frozen), keeping the draws of `var_names`.

    `initial_points` start the named parameters there; `jitter_names` are the parameters whose
    start is jittered (None: all). `backend` holds nutpie's compiler options; on numba the C
    callbacks are cached, except when PyTensor cannot give the graph a cache key (then nutpie
    compiles them as usual).
    """
    import nutpie
    from pymc.initial_point import make_initial_point_fn
    from pymc.model.transform.optimization import freeze_dims_and_data

    frozen = freeze_dims_and_data(model)
    jitter = {rv for rv in frozen.free_RVs if jitter_names is None or rv.name in jitter_names}
    if backend.get("backend") == "numba":
        start_point = make_initial_point_fn(
            model=frozen, overrides=initial_points, default_strategy="support_point", jitter_rvs=jitter, return_transformed=True
        )
        compiled = _cached_numba(frozen, var_names, _serialised(start_point))
        if compiled is not None:
            return compiled
    return nutpie.compile_pymc_model(
        frozen, freeze_model=False, var_names=var_names, initial_points=initial_points, jitter_rvs=jitter, **backend
    )


def _cached_numba(frozen: pm.Model, var_names: list[str], start_point: Callable[..., Any]) -> Any:
    """The numba-compiled model with cached C callbacks, or None when the graph has no PyTensor cache key."""
    import pytensor
    from nutpie.compile_pymc import CompiledPyMCModel, _make_functions, _prepare_dims_and_coords, make_user_data

    # with fast-math, code compiled in this process and the same code loaded from the cache differ in
    # the last bit of a gradient, which changes every draw after it: the first run would disagree with the next
    with pytensor.config.change_flags(numba__fastmath=False):
        n_dim, n_expanded, logp_fn, expand_fn, initial_point_fn, shape_info = _make_functions(
            frozen, mode="NUMBA", compute_grad=True, join_expanded=True, pymc_initial_point_fn=start_point, var_names=var_names
        )
    logp_key, expand_key = _graph_key(logp_fn), _graph_key(expand_fn)
    if logp_key is None or expand_key is None or logp_fn.get_shared() or expand_fn.get_shared():
        return None
    logp = _cached_cfunc(LOGP_SOURCE, "mmm_logp", logp_fn.vm.jit_fn, logp_key, n_dim, n_expanded, _logp_signature())
    expand = _cached_cfunc(EXPAND_SOURCE, "mmm_expand", expand_fn.vm.jit_fn, expand_key, n_dim, n_expanded, _expand_signature())
    dims, coords = _prepare_dims_and_coords(frozen, shape_info)
    return CompiledPyMCModel(
        _n_dim=n_dim,
        dims=dims,
        _coords=coords,
        _shapes={name: tuple(shape) for name, _, shape in zip(*shape_info, strict=True)},
        compiled_logp_func=logp,
        compiled_expand_func=expand,
        initial_point_func=initial_point_fn,
        shared_data={},
        user_data=make_user_data({}, {}),
        n_expanded=n_expanded,
        shape_info=shape_info,
        logp_func=logp_fn,
        expand_func=expand_fn,
    )


def _graph_key(fn: Any) -> str | None:
    """PyTensor's cache key of a compiled function's graph, or None when it has none."""
    from pytensor.link.numba.cache import CACHED_SRC_FUNCTIONS

    return CACHED_SRC_FUNCTIONS.get(fn.vm.jit_fn.py_func)


def _cached_cfunc(source: str, name: str, inner: Any, graph_key: str, n_dim: int, n_expanded: int, signature: Any) -> Any:
    """A numba C callback compiled from `source`, calling `inner`, cached under a key of the graph and the sizes."""
    import numba
    from pytensor.link.numba.cache import compile_numba_function_src

    key = sha256(f"{CACHE_VERSION}|{name}|{graph_key}|{n_dim}|{n_expanded}|{numba.__version__}".encode()).hexdigest()
    raw = compile_numba_function_src(
        source,
        name,
        global_env={"__name__": __name__, "numba": numba, "np": np, "inner": inner, "n_dim": n_dim, "n_expanded": n_expanded},
        cache_key=key,
    )
    with warnings.catch_warnings():
        # a graph holding large constant arrays (lift-test designs) cannot be cached: it is compiled each time, as before
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


def _serialised(fn: Callable[..., Any]) -> Callable[..., Any]:
    """`fn` behind a lock: nutpie calls the start-point function from every chain's thread."""
    lock = threading.Lock()

    def locked(*args: Any, **kwargs: Any) -> Any:
        with lock:
            return fn(*args, **kwargs)

    return locked
