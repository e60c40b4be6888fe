"""The model compiled for nutpie, its C callbacks cached on disk across runs and processes.

The log density and gradient PyTensor builds are written out as C and compiled by the C compiler
(mmm.model.native: about a second), or, for a graph holding an operation not written in C or on a
machine without a C compiler, compiled by numba (mmm.model.numba_callbacks: 20-40 s). The model's
data are not frozen into the graph: they reach the compiled code at run time through nutpie's
user-data pointer, so the cache is keyed on the model's structure and priors, not on its data.
The callbacks' layout is remembered beside them under the model's fingerprint (graph_key), so a
rerun of a model of the same structure, on the same data or on new data (another client, more
weeks), loads them in well under a second without PyTensor rewriting and differentiating the graph
again (2-4 s). The numbers of weeks, channels and controls stay open in the compiled code (other
dimensions, such as lags and regions, are frozen): a model with a channel or a control added or
dropped loads the same code (`open_sizes`); a transform or another change to the structure
compiles afresh."""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pymc as pm

from mmm.core.constants import CHANNEL, CONTROL, DATE
from mmm.model import compile_fast, native
from mmm.model.graph_key import model_key
from mmm.model.numba_callbacks import CACHE_VERSION, graph_key, numba_callbacks
from mmm.model.open_sizes import Shapes, open_functions, open_shapes

OPEN_DIMS = (DATE, CONTROL, CHANNEL)  # dimensions left open in the compiled code
COMPILING = (
    "compiling the model: the first fit of a model of this form takes seconds (a minute or two without a C compiler); "
    "later fits of it, on any data and with any channels and controls, load the compiled code in under a second"
)
log = logging.getLogger(__name__)


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
    callbacks are compiled from C (or by numba) and cached, except when a parameter's shape is not
    its dimensions' or numba's code has no cache key (then nutpie compiles them as usual).
    """
    import nutpie
    from pymc.initial_point import make_initial_point_fn
    from pymc.model.transform.optimization import freeze_dims_and_data

    compile_fast()  # the setting numba compiles with, and so the cache key, are the same in every process
    on_numba = backend.get("backend") == "numba"
    if on_numba:  # the data and the open dimensions' lengths (weeks, channels, controls) stay inputs: the code fits other data
        frozen = freeze_dims_and_data(model, dims=[dim for dim in model.coords if dim not in OPEN_DIMS], data=[])
    else:
        frozen = freeze_dims_and_data(model)
    jitter = {rv for rv in frozen.free_RVs if jitter_names is None or rv.name in jitter_names}
    if on_numba:
        import pytensor

        # evaluated once per chain, it needs no C: without it, PyTensor builds its C runtime on a first fit (about 2 s)
        with pytensor.config.change_flags(cxx=""):
            start_point = make_initial_point_fn(
                model=frozen, overrides=initial_points, default_strategy="support_point", jitter_rvs=jitter, return_transformed=True
            )
        compiled = _cached_numba(frozen, var_names, _serialised(start_point))
        if compiled is not None:
            return compiled
        _numba_scalars()
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
    native: str = ""  # the file of the callbacks compiled from C (mmm.model.native), when they were


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
    log.info(COMPILING)  # the wait of a first fit, said while it happens
    kept = shapes.names[shapes.sampled :]
    graphs = open_functions(frozen, kept, linked=False)  # numba's rewrites, nothing compiled: C is written from them
    data = ([v.name for v in graphs[0].get_shared()], [v.name for v in graphs[1].get_shared()])
    library = _native_library(frozen, *graphs, data, shapes)
    keys: tuple[str | None, str | None] = ("", "")
    if not library:
        # with fast-math, code compiled in this process and the same code loaded from the cache differ in
        # the last bit of a gradient, which changes every draw after it: the first run would disagree with the next
        _numba_scalars()
        with pytensor.config.change_flags(numba__fastmath=False):
            graphs = open_functions(frozen, kept)
        keys = (graph_key(graphs[0]), graph_key(graphs[1]))
    if keys[0] is None or keys[1] is None:
        return None
    layout = Layout(keys[0], keys[1], *data, native=library or "")
    compiled = _assemble(frozen, layout, shapes, start_point, graphs)
    if key is not None:
        _remember(key, layout)
    return compiled


def _assemble(frozen: pm.Model, layout: Layout, shapes: Shapes, start_point: Callable[..., Any], functions: tuple[Any, Any] | None) -> Any:
    """nutpie's compiled model from the callbacks of `layout`, compiled from `functions` (PyTensor's logp and expand
    functions) or, when None, loaded from the numba cache, its draws laid out as `shapes`; None when the cache
    no longer holds them.
    """
    from nutpie.compile_pymc import CompiledPyMCModel, _prepare_dims_and_coords, _rv_dict_to_flat_array_wrapper

    data = _model_data(frozen, [*layout.logp_data, *layout.expand_data])
    if data is None:
        return None
    table, offsets = _data_table(data, shapes)
    if layout.native:
        callbacks = _native_callbacks(layout.native)
    else:
        keys, names = (layout.logp_key, layout.expand_key), (layout.logp_data, layout.expand_data)
        callbacks = numba_callbacks(keys, names, data, table, offsets, functions)
    if callbacks is None:
        return None
    logp, expand = callbacks
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
        logp_func=functions[0] if functions else None,
        expand_func=functions[1] if functions else None,
    )


def _native_library(frozen: pm.Model, logp_fn: Any, expand_fn: Any, names: tuple[list[str], list[str]], shapes: Shapes) -> str | None:
    """The file name of the model's callbacks compiled from C (mmm.model.native) into the cache, or None when the
    graph holds an operation not written in C or no C compiler is at hand (then numba compiles them)."""
    data = _model_data(frozen, [*names[0], *names[1]])
    if data is None:
        return None
    _, offsets = _data_table(data, shapes)
    try:
        sources = [
            native.function_source(fn.maker.fgraph, [offsets[name] for name in used], kind)
            for fn, used, kind in ((logp_fn, names[0], native.LOGP), (expand_fn, names[1], native.EXPAND))
        ]
    except native.UnsupportedError as why:
        log.debug("compiling with numba: %s is not written in C", why)
        return None
    source = native.library_source(sources)
    path = native.library_path(_native_dir(), source)
    if not path.exists() and not native.build(source, path):
        return None
    # a cache folder that allows no code to be loaded from it (mounted noexec) leaves the model to numba too
    return path.name if _native_callbacks(path.name) is not None else None


def _native_callbacks(name: str) -> tuple[Any, Any] | None:
    """The two callbacks of the library `name` in the cache, or None when it is not there."""
    path = _native_dir() / name
    logp, expand = native.load(path, native.LOGP), native.load(path, native.EXPAND)
    return (logp, expand) if logp is not None and expand is not None else None


def _numba_scalars() -> None:
    """Before numba compiles a model: digamma as code numba can cache, so a count or Student-t likelihood is cached too."""
    from mmm.model.numba_scalars import register

    register()


def _cache_root() -> Path:
    """PyTensor's numba cache folder (pytensor.link.numba.cache.NUMBA_CACHE_PATH, without importing numba's code generator)."""
    import pytensor

    return Path(pytensor.config.base_compiledir) / "numba"


def _native_dir() -> Path:
    return _cache_root() / "mmm-native"


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


def _context(var_names: list[str], check_bounds: bool) -> str:
    """Everything besides the model's graph that decides its compiled code: the libraries, their settings, the kept variables."""
    import sys

    import numba
    import nutpie
    import pytensor

    versions = [sys.version, np.__version__, pm.__version__, pytensor.__version__, numba.__version__, nutpie.__version__]
    settings = [pytensor.config.floatX, os.environ.get("PYTENSOR_FLAGS", ""), os.environ.get("NUMBA_OPT", ""), str(check_bounds)]
    return "|".join([CACHE_VERSION, native.SOURCE_VERSION, *versions, *settings, *var_names])


def _memo_path(key: str) -> Path:
    return _cache_root() / "mmm-models" / f"{key}.json"


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


def _serialised(fn: Callable[..., Any]) -> Callable[..., Any]:
    """`fn` behind a lock: nutpie calls the start-point function from every chain's thread."""
    lock = threading.Lock()

    def locked(*args: Any, **kwargs: Any) -> Any:
        with lock:
            return fn(*args, **kwargs)

    return locked
