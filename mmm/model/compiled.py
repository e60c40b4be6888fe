"""The model compiled for nutpie, with its C callbacks cached on disk across runs and processes.

nutpie builds its numba C callbacks as closures, which numba cannot cache, so every fit used to
spend 5-15 s compiling them again. Here the same callbacks are generated as source with the
compiled PyTensor function as a global and cached in PyTensor's numba cache, keyed on PyTensor's
own hash of the graph. The model's data are not frozen into the graph: they reach the compiled
code at run time through nutpie's user-data pointer, so the cache is keyed on the model's structure
and priors, not on its data. Their layout is remembered beside them under the model's fingerprint
(graph_key), so a rerun of a model of the same structure, on the same data or on new data (another
client, more weeks), loads them in about a second without PyTensor rewriting and differentiating
the graph again (3-4 s) or numba compiling it (20-40 s). The numbers of weeks, channels and
controls stay open in the compiled code (other dimensions, such as lags and regions, are frozen):
a model with a channel or a control added or dropped loads the same code (`open_sizes`); a
transform or another change to the structure compiles afresh."""

from __future__ import annotations

import json
import logging
import os
import threading
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from hashlib import sha256
from pathlib import Path
from typing import Any

import numpy as np
import pymc as pm

from mmm.core.constants import CHANNEL, CONTROL, DATE
from mmm.model import compile_fast
from mmm.model.graph_key import model_key
from mmm.model.open_sizes import Shapes, open_functions, open_shapes

CACHE_VERSION = "mmm-nutpie-4"  # bump when the callbacks' source changes
OPEN_DIMS = (DATE, CONTROL, CHANNEL)  # dimensions left open in the compiled code
COMPILING = (
    "compiling the model: the first fit of a model of this form takes a minute or two; "
    "later fits of it, on any data and with any channels and controls, load the compiled code in about a second"
)
log = logging.getLogger(__name__)

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

    compile_fast()  # the setting numba compiles with, and so the cache key, are the same in every process
    on_numba = backend.get("backend") == "numba"
    if on_numba:
        from mmm.model.numba_scalars import register

        register()  # digamma as code numba can cache: a count or Student-t likelihood is then cached too
    if on_numba:  # the data and the open dimensions' lengths (weeks, channels, controls) stay inputs: the code fits other data
        frozen = freeze_dims_and_data(model, dims=[dim for dim in model.coords if dim not in OPEN_DIMS], data=[])
    else:
        frozen = freeze_dims_and_data(model)
    jitter = {rv for rv in frozen.free_RVs if jitter_names is None or rv.name in jitter_names}
    if on_numba:
        start_point = make_initial_point_fn(
            model=frozen, overrides=initial_points, default_strategy="support_point", jitter_rvs=jitter, return_transformed=True
        )
        compiled = _cached_numba(frozen, var_names, _serialised(start_point))
        if compiled is not None:
            return compiled
    return nutpie.compile_pymc_model(
        frozen, freeze_model=False, var_names=var_names, initial_points=initial_points, jitter_rvs=jitter, **backend
    )


@dataclass
class Layout:
    """What sampling a compiled model needs besides its callbacks, remembered on disk under the model's fingerprint.

    logp_key / expand_key: the callbacks' keys in the numba cache; logp_data / expand_data: the data
    (pm.Data names) each compiled function takes after the parameters, in order. Where each value sits
    in a draw depends on the model's sizes: each fit reads its own (`open_sizes.Shapes`).
    """

    logp_key: str
    expand_key: str
    logp_data: list[str]
    expand_data: list[str]


def _cached_numba(frozen: pm.Model, var_names: list[str], start_point: Callable[..., Any]) -> Any:
    """The numba-compiled model with cached C callbacks, or None when it cannot be cached: the graph has no
    PyTensor cache key, or a parameter does not have the shape of its dimensions (`open_sizes`).

    A model compiled before (same fingerprint, any numbers of weeks, channels and controls) is loaded
    from the cache without PyTensor rewriting and differentiating its graph again, which is most of a warm compile.
    """
    import pytensor

    shapes = open_shapes(frozen, var_names, start_point)
    if shapes is None:
        return None
    key = model_key(frozen, _context(var_names, frozen.check_bounds))
    layout = _recall(key)
    if layout is not None:
        compiled = _assemble(frozen, layout, shapes, start_point, None)
        if compiled is not None:
            return compiled
    log.info(COMPILING)  # the long wait of a first fit, said while it happens
    # with fast-math, code compiled in this process and the same code loaded from the cache differ in
    # the last bit of a gradient, which changes every draw after it: the first run would disagree with the next
    with pytensor.config.change_flags(numba__fastmath=False):
        logp_fn, expand_fn = open_functions(frozen, shapes.names[shapes.sampled :])
    logp_key, expand_key = _graph_key(logp_fn), _graph_key(expand_fn)
    if logp_key is None or expand_key is None:
        return None
    data = ([v.name for v in logp_fn.get_shared()], [v.name for v in expand_fn.get_shared()])
    layout = Layout(logp_key, expand_key, *data)
    compiled = _assemble(frozen, layout, shapes, start_point, (logp_fn, expand_fn))
    if key is not None:
        _remember(key, layout)
    return compiled


def _assemble(frozen: pm.Model, layout: Layout, shapes: Shapes, start_point: Callable[..., Any], functions: tuple[Any, Any] | None) -> Any:
    """nutpie's compiled model from the callbacks of `layout`, compiled from `functions` (PyTensor's logp and expand
    functions) or, when None, loaded from the numba cache, its draws laid out as `shapes`; None when the cache
    no longer holds them.
    """
    import numba
    from nutpie.compile_pymc import CompiledPyMCModel, _prepare_dims_and_coords, _rv_dict_to_flat_array_wrapper

    logp_fn, expand_fn = functions or (_not_compiled, _not_compiled)
    data = _model_data(frozen, [*layout.logp_data, *layout.expand_data])
    if data is None:
        return None
    table, offsets = _data_table(data, shapes)
    try:
        logp_source = _with_data(LOGP_SOURCE, layout.logp_data, data, table.size, offsets)
        logp = _cached_cfunc(logp_source, "mmm_logp", _inner(logp_fn), layout.logp_key, _logp_signature())
        expand_source = _with_data(EXPAND_SOURCE, layout.expand_data, data, table.size, offsets)
        expand = _cached_cfunc(expand_source, "mmm_expand", _inner(expand_fn), layout.expand_key, _expand_signature())
    except numba.core.errors.TypingError:
        if functions is not None:
            raise
        return None  # not in the cache: typing the stand-in for the graph's function failed
    shape_info = (shapes.names, [slice(*bounds) for bounds in shapes.slices], shapes.shapes)
    dims, coords = _prepare_dims_and_coords(frozen, shape_info)
    return CompiledPyMCModel(
        _n_dim=shapes.n_dim,
        dims=dims,
        _coords=coords,
        _shapes=dict(zip(shapes.names, shapes.shapes, strict=True)),
        compiled_logp_func=logp,
        compiled_expand_func=expand,
        initial_point_func=_rv_dict_to_flat_array_wrapper(
            start_point, names=shapes.names[: shapes.sampled], shapes=shapes.shapes[: shapes.sampled]
        ),
        shared_data=data,  # held here: the table points into these arrays
        user_data=table,
        n_expanded=shapes.n_expanded,
        shape_info=shape_info,
        logp_func=logp_fn if functions else None,
        expand_func=expand_fn if functions else None,
    )


def _model_data(frozen: pm.Model, names: list[str]) -> dict[str, np.ndarray] | None:
    """The model's current values of the named data, read-only and C-ordered; None when one is not the model's data array."""
    data = {}
    for name in dict.fromkeys(names):
        var = frozen.named_vars.get(name, frozen.dim_lengths.get(name))  # data, or an open dimension's length
        value = var.get_value(borrow=True) if hasattr(var, "get_value") else None
        if not isinstance(value, np.ndarray):
            return None
        data[name] = np.array(value, order="C", copy=True)
        data[name].flags.writeable = False
    return data


def _data_table(data: dict[str, np.ndarray], shapes: Shapes) -> tuple[np.ndarray, dict[str, int]]:
    """The table nutpie hands the callbacks as user data: the numbers of parameters and of kept values, then per
    array its address and its shape; and where each array's entry starts."""
    entries: list[int] = [shapes.n_dim, shapes.n_expanded]
    offsets: dict[str, int] = {}
    for name, value in data.items():
        offsets[name] = len(entries)
        entries += [value.ctypes.data, *value.shape]
    return np.array(entries, dtype=np.uint64), offsets


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


def _context(var_names: list[str], check_bounds: bool) -> str:
    """Everything besides the model's graph that decides its compiled code: the libraries, their settings, the kept variables."""
    import sys

    import numba
    import nutpie
    import pytensor

    versions = [sys.version, np.__version__, pm.__version__, pytensor.__version__, numba.__version__, nutpie.__version__]
    settings = [pytensor.config.floatX, os.environ.get("PYTENSOR_FLAGS", ""), os.environ.get("NUMBA_OPT", ""), str(check_bounds)]
    return "|".join([CACHE_VERSION, *versions, *settings, *var_names])


def _memo_path(key: str) -> Path:
    from pytensor.link.numba.cache import NUMBA_CACHE_PATH

    return Path(NUMBA_CACHE_PATH) / "mmm-models" / f"{key}.json"


def _recall(key: str | None) -> Layout | None:
    """The layout remembered under `key`, or None (none yet, or unreadable: then the model is compiled as new)."""
    if key is None:
        return None
    try:
        return Layout(**json.loads(_memo_path(key).read_text()))
    except (OSError, ValueError, TypeError):
        return None


def _remember(key: str, layout: Layout) -> None:
    """Write the layout atomically (another process may read it at the same time); a read-only cache just stays cold."""
    path = _memo_path(key)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(json.dumps(asdict(layout)))
        partial.replace(path)
    except OSError:
        return


def _graph_key(fn: Any) -> str | None:
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


def _serialised(fn: Callable[..., Any]) -> Callable[..., Any]:
    """`fn` behind a lock: nutpie calls the start-point function from every chain's thread."""
    lock = threading.Lock()

    def locked(*args: Any, **kwargs: Any) -> Any:
        with lock:
            return fn(*args, **kwargs)

    return locked
